/**
 * The riscv64 machine end to end, under qemu-user: the dev node serves inputs to the back end
 * running inside the riscv64 root file system (`npm run image`), which builds GNU hello for
 * riscv64-linux; the notice is validated on-chain; hello is built twice from scratch and both
 * builds must give the same NAR hash. Slow: `npm run test:riscv64`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodeClient, requestBuild, validateNotice, waitForProof, waitForResult, type NodeClient } from '../../contracts-client/index.ts'
import { hexToNarHash } from '../../dapp/nix/hash.ts'
import { enterChroot, type Chroot } from '../../image/rootfs/chroot.ts'
import { emulationNixConfig, machineRoot, rootfsDir } from '../../image/rootfs/build.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { clients, startTestDevnet } from '../harness/devnet.ts'

const hour = 60 * 60_000
let chroot: Chroot
let devnet: Devnet
let node: NodeClient
const machineEnv = { CARTENIX_ROOT: machineRoot, NIX_CONFIG: emulationNixConfig }

beforeAll(async () => {
  chroot = await enterChroot(rootfsDir)
  devnet = await startTestDevnet({
    backendCommand: chroot.command('/usr/bin/node', [`${machineRoot}/backend.mjs`]),
    backendEnv: machineEnv,
    log: (line) => console.error(line),
  })
  node = createNodeClient({ url: `${devnet.nodeUrl}/rpc` })
}, 10 * 60_000)

afterAll(async () => {
  await devnet?.stop()
  await chroot?.release()
})

/** Removes hello's output from the machine's store, so that the next request builds it from scratch. */
async function forgetHello(): Promise<void> {
  const { stdout: drv } = await chroot.run('nix-instantiate', [`${machineRoot}/image/pkgs`, '--attr', 'hello', '--argstr', 'system', 'riscv64-linux'], { env: { ...process.env, ...machineEnv } })
  const { stdout: out } = await chroot.run('nix-store', ['--query', '--outputs', drv.trim()])
  const { stdout: valid } = await chroot.run('nix-store', ['--check-validity', '--print-invalid', out.trim()])
  if (valid.trim() === '') await chroot.run('nix-store', ['--delete', out.trim()])
}

async function buildHello(request: { attr: string } | { expr: string }) {
  await forgetHello()
  const { application, inputBox } = devnet.deployment
  const sent = await requestBuild(clients(devnet).walletClient, { application, inputBox, request })
  const { notice } = await waitForResult(node, { application, inputIndex: sent.inputIndex, timeoutMs: hour, pollIntervalMs: 2000 })
  return notice
}

describe('riscv64 under emulation', () => {
  it('builds hello twice from scratch for riscv64-linux, with the same NAR hash, validated on-chain', async () => {
    const first = await buildHello({ attr: 'hello' })
    expect(first.result).toMatchObject({ system: 'riscv64-linux', success: true })
    const [out] = first.result.outputs
    const { stdout: narHash } = await chroot.run('nix-store', ['--query', '--hash', out?.path ?? ''])
    expect(hexToNarHash(out?.narHash ?? '0x')).toBe(narHash.trim())
    const { stdout: greeting } = await chroot.run(`${out?.path}/bin/hello`, [])
    expect(greeting).toBe('Hello, world!\n')

    const proven = await waitForProof(node, { application: devnet.deployment.application, outputIndex: first.index })
    expect(await validateNotice(clients(devnet).publicClient, { application: devnet.deployment.application, output: proven })).toEqual({ valid: true })

    const second = await buildHello({ expr: 'pkgs: pkgs.hello' })
    expect(second.result.drvPath).toBe(first.result.drvPath)
    expect(second.result.outputs).toEqual(first.result.outputs)
  }, 2 * hour)
})
