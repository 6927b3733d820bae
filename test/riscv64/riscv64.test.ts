/**
 * The riscv64 machine end to end, twice: under qemu-user (the back end in a chroot of the tree
 * `npm run image` makes, builds unsandboxed) and as a whole VM (Debian's kernel under
 * qemu-system-riscv64, no network device, Nix's sandbox on). Each builds GNU hello for
 * riscv64-linux from scratch through InputBox; both notices are validated on-chain, and the two
 * builds must give the same NAR hash. In the VM, a build that reaches for the network or for a
 * file of the machine fails, and a rejected input leaves no trace (qemu-user, which cannot roll
 * back, keeps one). Slow: `npm run test:riscv64`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodeClient, requestBuild, validateNotice, waitForProof, waitForResult, type NodeClient } from '../../contracts-client/index.ts'
import { hexToNarHash } from '../../dapp/protocol/narHash.ts'
import type { BuildResult } from '../../dapp/protocol/buildResult.ts'
import { computeTemplate } from '../../image/template.ts'
import { enterChroot, type Chroot } from '../../image/rootfs/chroot.ts'
import { join } from 'node:path'
import { buildImage, emulationNixConfig, ext2Path, imageWorkDir, machineRoot, rootfsDir } from '../../image/rootfs/build.ts'
import { sha256File } from '../../image/host/debs.ts'
import { exec } from '../../dapp/lib/exec.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { clients, rpc as rpcOf, startTestDevnet } from '../harness/devnet.ts'
import { replay } from '../../scripts/replay/replay.ts'
import type { ValidatorEvent } from '../../scripts/validator/validator.ts'
import { listOutputs } from '../../contracts-client/actions/listOutputs.ts'
import { InputNotAcceptedError } from '../../contracts-client/errors/build.ts'
import { instantiate } from '../../dapp/nix/instantiate.ts'
import { pathAnswer, resultAnswer, type InspectQuery } from '../../dapp/protocol/inspect.ts'
import { wireInspectResult } from '../../dapp/protocol/nodeApi.ts'
import { decodeReport } from '../../dapp/protocol/reports.ts'
import type * as z from 'zod'

const hour = 60 * 60_000
let chroot: Chroot
let devnet: Devnet
let node: NodeClient
const machineEnv = { CARTENIX_ROOT: machineRoot, NIX_CONFIG: emulationNixConfig }

let imageAtStart = ''
/** The .drv files of the input the rollback test has rejected (qemu-user keeps them in the tree). */
let drvs: string[] = []

beforeAll(async () => {
  imageAtStart = await sha256File(ext2Path)
  chroot = await enterChroot(rootfsDir)
  devnet = await startTestDevnet({
    // The riscv64 machine (its template), with the back end in the chroot instead of the VM.
    machine: 'riscv64',
    backendCommand: chroot.command('/usr/bin/node', [`${machineRoot}/backend.mjs`]),
    backendEnv: machineEnv,
    log: (line) => console.error(line),
  })
  node = createNodeClient({ url: `${devnet.nodeUrl}/rpc` })
}, 10 * 60_000)

afterAll(async () => {
  await devnet?.stop()
  // The tree is cached across runs: leave no hello in it for the next image to carry.
  await forgetHello().catch((error: unknown) => console.error(`could not remove hello from the tree: ${String(error)}`))
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

let qemuUserHello: BuildResult | undefined

/** Every file below `dir` with its sha256, by relative path. */
async function filesOf(dir: string): Promise<Record<string, string>> {
  const { stdout } = await exec('bash', ['-c', 'cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum', 'files', dir])
  return Object.fromEntries(stdout.trim().split('\n').map((line) => [line.slice(66), line.slice(0, 64)]))
}

describe('the Cartesi CLI path', () => {
  it('gets the same /opt/cartenix as the tree (the Docker context image/Dockerfile copies)', async () => {
    const tree = await filesOf(join(rootfsDir, machineRoot.slice(1)))
    expect(Object.keys(tree)).toEqual(expect.arrayContaining(['./backend.mjs', './relay.mjs', './vm-init', './image/pkgs/default.nix', './image/nix/nix.conf']))
    expect(await filesOf(join(imageWorkDir, 'context', machineRoot.slice(1)))).toEqual(tree)
  })
})

describe('riscv64 under emulation', () => {
  it('builds hello from scratch for riscv64-linux under qemu-user, validated on-chain', async () => {
    const first = await buildHello({ attr: 'hello' })
    expect(first.result).toMatchObject({ system: 'riscv64-linux', success: true })
    const [out] = first.result.outputs
    const { stdout: narHash } = await chroot.run('nix-store', ['--query', '--hash', out?.path ?? ''])
    expect(hexToNarHash(out?.narHash ?? '0x')).toBe(narHash.trim())
    const { stdout: greeting } = await chroot.run(`${out?.path}/bin/hello`, [])
    expect(greeting).toBe('Hello, world!\n')

    const proven = await waitForProof(node, { application: devnet.deployment.application, outputIndex: first.index })
    expect(await validateNotice(clients(devnet).publicClient, { application: devnet.deployment.application, output: proven })).toEqual({ valid: true })
    qemuUserHello = first.result
  }, 2 * hour)
})

describe('riscv64 as a VM', () => {
  let vm: Devnet
  let vmNode: NodeClient
  const vmLog: string[] = []
  beforeAll(async () => {
    vm = await startTestDevnet({
      machine: 'riscv64',
      log: (line) => {
        vmLog.push(line)
        console.error(line)
      },
    })
    vmNode = createNodeClient({ url: `${vm.nodeUrl}/rpc` })
  }, 10 * 60_000)
  afterAll(async () => {
    await vm?.stop()
  })

  /** `cartenix replay` on the VM, from the epoch of input `index` on (earlier outputs from the node). */
  const replayFromInput = async (index: bigint) => {
    const { data: input } = await rpcOf(vm, 'cartesi_getInput', { input_index: `0x${index.toString(16)}` })
    return replay({
      publicClient: clients(vm).publicClient,
      chainUrl: vm.chainUrl,
      application: vm.deployment.application,
      etherPortal: vm.deployment.etherPortal,
      system: 'riscv64-linux',
      fromEpoch: Number(input.epochIndex),
      earlierOutputs: async () => (await listOutputs(vmNode, { application: vm.deployment.application })).outputs.map((o) => ({ inputIndex: Number(o.inputIndex), rawData: o.rawData })),
    })
  }

  const request = async (body: { attr: string } | { expr: string }) => {
    const { application, inputBox } = vm.deployment
    const sent = await requestBuild(clients(vm).walletClient, { application, inputBox, request: body })
    return waitForResult(vmNode, { application, inputIndex: sent.inputIndex, timeoutMs: hour, pollIntervalMs: 2000 })
  }

  it('builds hello in the sandbox, bit for bit what qemu-user built, validated on-chain', async () => {
    expect(vm.deployment.templateHash).toBe((await computeTemplate({ system: 'riscv64-linux' })).hash)
    // The VM must build hello itself: the image it boots must not carry it already.
    const outPath = qemuUserHello?.outputs[0]?.path ?? ''
    const { stdout: inImage } = await exec('debugfs', ['-R', `stat ${outPath}`, ext2Path]).catch((error: { stderr?: string }) => ({ stdout: error.stderr ?? '' }))
    expect(inImage, `the image already holds ${outPath}`).not.toMatch(/Inode:/)
    const { notice } = await request({ attr: 'hello' })
    expect(notice.result).toMatchObject({ system: 'riscv64-linux', success: true })
    expect(qemuUserHello, 'the qemu-user build ran first').toBeDefined()
    expect(notice.result.drvPath).toBe(qemuUserHello?.drvPath)
    expect(notice.result.outputs).toEqual(qemuUserHello?.outputs)
    const proven = await waitForProof(vmNode, { application: vm.deployment.application, outputIndex: notice.index })
    expect(await validateNotice(clients(vm).publicClient, { application: vm.deployment.application, output: proven })).toEqual({ valid: true })
  }, 2 * hour)

  it('gives a build no network (not even the relay on the VM\'s loopback) and no file of the machine', async () => {
    const nonce = Date.now()
    const reach = (name: string, script: string) =>
      `pkgs: pkgs.mkDerivation { name = "${name}-${nonce}"; buildPhase = ''${script}''; installPhase = "echo reached > $out"; }`
    for (const [name, script, why] of [
      // The guest relay serves the rollup API on 127.0.0.1:5004 inside the VM.
      ['network', 'exec 3<>/dev/tcp/127.0.0.1/5004 && echo connected', /Connection refused|Network is unreachable|cannot|No such/],
      ['machine-file', 'cat /opt/cartenix/backend.mjs > /dev/null && echo read', /No such file or directory/],
    ] as const) {
      const { notice, reports } = await request({ expr: reach(name, script) })
      expect(notice.result.success, name).toBe(false)
      const failed = reports.map((r) => r.report).find((r) => r?.type === 'build-failed')
      expect(failed?.logTail, name).toMatch(why)
    }
  }, hour)

  it('replays its claims on the VM (from the accepted claim of the hello epoch on)', async () => {
    const report = await replayFromInput(1n)
    expect(report.inputs.map((i) => [i.index, i.status])).toEqual([[1, 'ACCEPTED'], [2, 'ACCEPTED']])
    expect(report.epochs.length).toBe(2)
    expect(report.agrees).toBe(true)
  }, hour)

  it('rolls a rejected input back: the next input sees no trace of it, where qemu-user keeps one', async () => {
    // Two derivations where one is wanted: evaluating them writes both .drv files to the store,
    // then the back end rejects the request.
    const nonce = Date.now()
    const probe = (name: string) => `derivation { name = "rollback-${name}-${nonce}"; system = "riscv64-linux"; builder = "/bin/sh"; args = [ "-c" "exit 1" ]; }`
    drvs = await Promise.all(['a', 'b'].map(async (name) => (await instantiate({ expr: `pkgs: ${probe(name)}` }, { system: 'riscv64-linux' }))[0] ?? ''))
    const rejected = { expr: `pkgs: [ (${probe('a')}) (${probe('b')}) ]` }
    const holds = async (net: Devnet, path: string) => (await inspect(net, { query: 'path', path }, pathAnswer)).valid

    for (const [name, net, nodeClient] of [['qemu-user', devnet, node], ['vm', vm, vmNode]] as const) {
      const { application, inputBox } = net.deployment
      const sent = await requestBuild(clients(net).walletClient, { application, inputBox, request: rejected })
      const error = await waitForResult(nodeClient, { application, inputIndex: sent.inputIndex, timeoutMs: hour, pollIntervalMs: 2000 }).catch((e: unknown) => e)
      expect(error, name).toBeInstanceOf(InputNotAcceptedError)
      expect((error as InputNotAcceptedError).status, name).toBe('REJECTED')
      expect(JSON.stringify((error as InputNotAcceptedError).reports.map((r) => r.json)), name).toMatch(/exactly one derivation, got 2/)
    }
    // Without rollback (qemu-user on the host's kernel, as any host back end), the .drv files stay.
    expect(await holds(devnet, drvs[0] ?? '')).toBe(true)
    // The VM went back to its disk before the input, and rebooted...
    expect(vmLog.some((line) => /rolling the machine back/.test(line))).toBe(true)
    expect(await holds(vm, drvs[0] ?? '')).toBe(false)
    expect(await holds(vm, drvs[1] ?? '')).toBe(false)
    // ...and still has what it committed before: hello, in its store and in its results.
    const hello = qemuUserHello?.outputs[0]?.path ?? ''
    expect(await holds(vm, hello)).toBe(true)
    expect(await inspect(vm, { query: 'result', drvPath: qemuUserHello?.drvPath ?? '' }, resultAnswer)).toMatchObject({ found: true })

    // It serves the next input, which does write the .drv (so the query above could say yes).
    const { notice } = await request({ expr: `pkgs: ${probe('a')}` })
    expect(notice.result).toMatchObject({ drvPath: drvs[0], success: false })
    expect(await holds(vm, drvs[0] ?? '')).toBe(true)

    // Replay re-executes the rejected input on the VM too, rollback included, and agrees.
    await waitForProof(vmNode, { application: vm.deployment.application, outputIndex: notice.index })
    const report = await replayFromInput(notice.result.inputIndex - 1n)
    expect(report.inputs.map((i) => i.status).slice(-2)).toEqual(['REJECTED', 'ACCEPTED'])
    expect(report.agrees).toBe(true)
  }, hour)

  it('keeps its disk across a restart of the node and the back end: what it accepted is still there', async () => {
    const hello = qemuUserHello?.outputs[0]?.path ?? ''
    vmLog.length = 0
    await vm.stopNode()
    await vm.startNode()
    // The new VM boots first; inspects wait for it (one minute each).
    let answer: z.output<typeof pathAnswer> | undefined
    for (let tries = 0; !answer && tries < 10; tries += 1) answer = await inspect(vm, { query: 'path', path: hello }, pathAnswer).catch(() => undefined)
    expect(vmLog.some((line) => /resuming on the disk its last run committed/.test(line))).toBe(true)
    expect(answer?.valid).toBe(true)
    expect(await inspect(vm, { query: 'result', drvPath: qemuUserHello?.drvPath ?? '' }, resultAnswer)).toMatchObject({ found: true })
  }, hour)
})

describe('a Quorum whose validator runs the riscv64 VM', () => {
  it('re-executes in a VM of its own, votes the root the node computed, and the notice validates', async () => {
    const events: ValidatorEvent[] = []
    const quorum = await startTestDevnet({ machine: 'riscv64', consensus: 'quorum', validators: 1, onValidatorEvent: (_, event) => events.push(event), log: (line) => console.error(line) })
    try {
      expect(quorum.deployment.consensusType).toBe('QUORUM')
      const node = createNodeClient({ url: `${quorum.nodeUrl}/rpc` })
      const { application, inputBox } = quorum.deployment
      const sent = await requestBuild(clients(quorum).walletClient, { application, inputBox, request: { expr: `pkgs: pkgs.mkDerivation { name = "vm-vote-${Date.now()}"; buildPhase = "true"; installPhase = "echo voted from a VM > $out"; }` } })
      const { notice } = await waitForResult(node, { application, inputIndex: sent.inputIndex, timeoutMs: hour, pollIntervalMs: 2000 })
      expect(notice.result).toMatchObject({ system: 'riscv64-linux', success: true })
      // A Quorum of one: the validator's vote, from its own VM, is what gets the epoch accepted.
      const proven = await waitForProof(node, { application, outputIndex: notice.index, timeoutMs: hour })
      expect(await validateNotice(clients(quorum).publicClient, { application, output: proven })).toEqual({ valid: true })
      const { data: epoch } = await rpcOf(quorum, 'cartesi_getEpoch', { epoch_index: `0x${proven.epochIndex.toString(16)}` })
      expect(events.find((e) => e.event === 'vote' && BigInt(e.epoch) === proven.epochIndex)).toMatchObject({ root: epoch.claimHash })
      expect(events.some((e) => e.event === 'differs')).toBe(false)
    } finally {
      await quorum.stop()
    }
  }, 2 * hour)
})

describe('the image', () => {
  it('is made again byte for byte after all of the above: nothing the back ends did in the tree reaches it', async () => {
    // The tree now holds what the qemu-user back end left (hello, the rejected input's .drv
    // files, its temporary files); the image packed from it must be the one the suite began with.
    const again = await buildImage({ attrs: ['hello'], log: (line) => console.error(line) })
    expect(again.ext2Sha256).toBe(imageAtStart)
    expect(drvs.length).toBe(2)
    expect(await chroot.run('nix-store', ['--check-validity', ...drvs], { env: { ...process.env, ...machineEnv } }).then(() => 'in the tree', () => 'gone')).toBe('in the tree')
    const { stdout: inImage } = await exec('debugfs', ['-R', `ls /nix/store`, ext2Path])
    expect(inImage).not.toContain(drvs[0]?.slice('/nix/store/'.length))
  }, hour)
})

/** One inspect query through the dev node; the back end's answer, parsed as `answer`. */
async function inspect<T extends z.ZodType>(net: Devnet, query: InspectQuery, answer: T): Promise<z.output<T>> {
  const response = await fetch(`${net.nodeUrl}/inspect/${net.deployment.application}`, { method: 'POST', body: JSON.stringify(query) })
  const body = wireInspectResult.parse(await response.json())
  expect(body.status, JSON.stringify(query)).toBe('Accepted')
  return answer.parse(decodeReport(body.reports[0]?.payload ?? '0x').json)
}
