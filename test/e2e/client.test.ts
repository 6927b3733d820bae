import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWalletClient, http, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import {
  createNodeClient, deployRegistry, executeVoucher, getInput, InputNotAcceptedError, readRegistry, requestBuild, validateNotice,
  verifyLocally, VoucherAlreadyExecutedError, waitForProof, waitForResult, type NodeClient,
} from '../../contracts-client/host.ts'
import { compileContract } from '../../contracts-client/contracts/compile.ts'
import { runNix } from '../../dapp/nix/env.ts'
import { hexToNarHash } from '../../dapp/protocol/narHash.ts'
import { devAccountKey } from '../../scripts/devnode/anvil.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { exec, CommandFailedError } from '../../dapp/lib/exec.ts'
import { clients, startTestDevnet } from '../harness/devnet.ts'

let devnet: Devnet
let node: NodeClient
beforeAll(async () => {
  devnet = await startTestDevnet()
  node = createNodeClient({ url: `${devnet.nodeUrl}/rpc` })
})
afterAll(async () => {
  await devnet?.stop()
})

const wallet = () => clients(devnet).walletClient
const addresses = () => ({ application: devnet.deployment.application, inputBox: devnet.deployment.inputBox })

describe('the client library, end to end', () => {
  it('requests hello, decodes the notice, validates it on-chain and reproduces it locally', async () => {
    const sent = await requestBuild(wallet(), { ...addresses(), request: { attr: 'hello' } })
    const statuses: string[] = []
    const { notice, input } = await waitForResult(node, { application: devnet.deployment.application, inputIndex: sent.inputIndex, onStatus: (s) => statuses.push(s) })
    expect(statuses.at(-1)).toBe('ACCEPTED')
    expect(notice.result.requestHash).toBe(sent.requestHash)
    const [out] = notice.result.outputs
    const { stdout } = await runNix('nix-store', ['--query', '--hash', out?.path ?? ''])
    expect(hexToNarHash(out?.narHash ?? '0x')).toBe(stdout.trim())

    const proven = await waitForProof(node, { application: devnet.deployment.application, outputIndex: notice.index })
    const { publicClient } = clients(devnet)
    expect(await validateNotice(publicClient, { application: devnet.deployment.application, output: proven })).toEqual({ valid: true })
    const tampered = { ...proven, rawData: (proven.rawData.slice(0, -2) + (proven.rawData.endsWith('ff') ? '00' : 'ff')) as Hex }
    const refused = await validateNotice(publicClient, { application: devnet.deployment.application, output: tampered })
    expect(refused).toMatchObject({ valid: false, reason: expect.stringContaining('InvalidOutputsMerkleRoot') })
    const shortProof = { ...proven, siblings: proven.siblings.slice(0, 62) }
    expect(await validateNotice(publicClient, { application: devnet.deployment.application, output: shortProof })).toMatchObject({
      valid: false,
      reason: expect.stringContaining('InvalidOutputHashesSiblingsArrayLength'),
    })

    const local = await verifyLocally({ result: notice.result, request: input.payload ?? '0x' })
    expect(local).toMatchObject({ verified: true, drvPathMatches: true, rebuilt: 'checked', outputs: [{ name: 'out', matches: true }] })
  })

  it('records the result in the registry through a voucher that runs once', async () => {
    const { address: registry } = await deployRegistry(wallet(), { application: devnet.deployment.application })
    const sent = await requestBuild(wallet(), { ...addresses(), request: { attr: 'hello', callback: registry } })
    const { notice, vouchers } = await waitForResult(node, { application: devnet.deployment.application, inputIndex: sent.inputIndex })
    expect(vouchers).toHaveLength(1)
    expect(await readRegistry(clients(devnet).publicClient, { registry, drvPath: notice.result.drvPath })).toBeUndefined()

    const voucher = await waitForProof(node, { application: devnet.deployment.application, outputIndex: vouchers[0]?.index ?? -1n })
    await executeVoucher(wallet(), { application: devnet.deployment.application, output: voucher })
    const entry = await readRegistry(clients(devnet).publicClient, { registry, drvPath: notice.result.drvPath })
    expect(entry).toEqual({ system: notice.result.system, outputs: notice.result.outputs.map(({ name, path, narHash, narSize }) => ({ name, path, narHash, narSize })) })

    const again = await executeVoucher(wallet(), { application: devnet.deployment.application, output: voucher }).catch((e: unknown) => e)
    expect(again).toBeInstanceOf(VoucherAlreadyExecutedError)
    expect(String(again)).toContain('already executed')
  })

  it('lets only the application write to the registry', async () => {
    const { address: registry } = await deployRegistry(wallet(), { application: devnet.deployment.application })
    const { abi } = await compileContract('CartenixRegistry')
    const stranger = createWalletClient({ chain: anvil, transport: http(devnet.chainUrl), account: privateKeyToAccount(devAccountKey) })
    const result = { version: 1, requestHash: `0x${'00'.repeat(32)}`, inputIndex: 0n, system: 'x86_64-linux', drvPath: '/nix/store/x.drv', success: true, outputs: [] }
    await expect(
      clients(devnet).publicClient.simulateContract({ address: registry, abi, functionName: 'cartenixBuilt', args: [result], account: stranger.account }),
    ).rejects.toThrow(/NotTheApplication/)
  })

  it('returns a rejected input as a typed error carrying its reports', async () => {
    const sent = await requestBuild(wallet(), { ...addresses(), request: { attr: 'no-such-package' } })
    const error = await waitForResult(node, { application: devnet.deployment.application, inputIndex: sent.inputIndex }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InputNotAcceptedError)
    expect((error as InputNotAcceptedError).status).toBe('REJECTED')
    expect((error as InputNotAcceptedError).reports[0]?.json).toMatchObject({ type: 'rejected', reason: 'evaluation failed' })
    expect((await getInput(node, { application: devnet.deployment.application, inputIndex: sent.inputIndex })).status).toBe('REJECTED')
  })
})

describe('the cartenix CLI against the devnet', () => {
  const cli = fileURLToPath(new URL('../../bin/cartenix.js', import.meta.url))
  const flags = () => [
    '--rpc-url', devnet.chainUrl, '--node-url', devnet.nodeUrl, '--application', devnet.deployment.application,
    '--input-box', devnet.deployment.inputBox, '--ether-portal', devnet.deployment.etherPortal,
  ]

  it('builds and verifies, as JSON', async () => {
    const { stdout } = await exec(process.execPath, [cli, 'build', 'hello', '--json', ...flags()])
    const built = JSON.parse(stdout) as { inputIndex: string; notice: { result: { success: boolean; drvPath: string } } }
    expect(built.notice.result.success).toBe(true)
    const { stdout: verified } = await exec(process.execPath, [cli, 'verify', built.inputIndex, '--json', ...flags()])
    expect(JSON.parse(verified)).toMatchObject({ ok: true, onChain: { valid: true }, local: { verified: true } })
  })

  it('sends Ether with a request through the EtherPortal, and still verifies', async () => {
    const { stdout } = await exec(process.execPath, [cli, 'build', '--expr', 'pkgs: pkgs.hello', '--value', '12345', '--json', ...flags()])
    const built = JSON.parse(stdout) as { inputIndex: string }
    const { stdout: verified } = await exec(process.execPath, [cli, 'verify', built.inputIndex, '--json', ...flags()])
    expect(JSON.parse(verified)).toMatchObject({ ok: true, local: { verified: true } })
    expect(await clients(devnet).publicClient.getBalance({ address: devnet.deployment.application })).toBeGreaterThanOrEqual(12345n)
  })

  it('explains failures in words with a non-zero exit', async () => {
    const rejected = await exec(process.execPath, [cli, 'build', '--expr', 'pkgs: builtins.readFile /etc/shadow', ...flags()]).catch((e: unknown) => e)
    expect((rejected as CommandFailedError).exitCode).toBe(1)
    expect((rejected as CommandFailedError).stderr).toContain("access to absolute path '/etc/shadow' is forbidden in pure eval mode")
    const notVoucher = await exec(process.execPath, [cli, 'execute', '0', ...flags()]).catch((e: unknown) => e)
    expect((notVoucher as CommandFailedError).stderr).toContain('not a voucher')
    const usage = await exec(process.execPath, [cli, 'wait', 'soon', ...flags()]).catch((e: unknown) => e)
    expect((usage as CommandFailedError).exitCode).toBe(2)
  })
})
