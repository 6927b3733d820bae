/**
 * `cartenix replay` against a real devnet: an honest history of several epochs replays clean,
 * a false claim the Authority's owner submits is caught, --from-epoch starts from outputs the
 * chain accepted, and a changed checkout is refused. Everything is real: anvil, the v2.2.0
 * contracts, the dev node, the back end, Nix with the sandbox on (a scratch store for replay).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWalletClient, http, keccak256, toHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import { authorityAbi } from '../../contracts-client/abi/rollups.ts'
import { devAccountKey } from '../../scripts/devnode/anvil.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { replay, TemplateMismatchError, type ReplayReport } from '../../scripts/replay/replay.ts'
import { CommandFailedError, exec } from '../../dapp/lib/exec.ts'
import { computeTemplate } from '../../image/template.ts'
import { addInput, clients, reportsOf, rpc, startTestDevnet, waitFor, waitForInput } from '../harness/devnet.ts'
import { cloneSources } from '../harness/clone.ts'

const repo = fileURLToPath(new URL('../../', import.meta.url))
const cli = join(repo, 'bin/cartenix.js')

let devnet: Devnet
let scratch: string
const inputs: number[] = []

const epochOfInput = async (index: number) => Number((await rpc(devnet, 'cartesi_getInput', { input_index: toHex(index) })).data.epochIndex)
const claimAccepted = (epoch: number) =>
  waitFor(`the claim of epoch ${epoch}`, async () => {
    const { data } = await rpc(devnet, 'cartesi_getEpoch', { epoch_index: toHex(epoch) })
    return data.status === 'CLAIM_ACCEPTED' ? data : undefined
  })
const flags = () => ['--rpc-url', devnet.chainUrl, '--node-url', devnet.nodeUrl, '--application', devnet.deployment.application, '--ether-portal', devnet.deployment.etherPortal]

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'cartenix-replay-test-'))
  devnet = await startTestDevnet({ epochLength: 1, dir: join(scratch, 'devnet') })
  // An honest history, one epoch per input: a build, a failed build, a rejected request, a
  // build with a callback voucher, and a build whose output is the kernel's randomness
  // (getrandom(2), through bash's $SRANDOM): built twice, it differs, so it is a failed notice
  // with no NAR hash, which replay computes the same way (before, replay called it FALSE CLAIM).
  const requests = [
    { attr: 'hello' },
    { expr: `pkgs: pkgs.mkDerivation { name = "fails-${Date.now()}"; buildPhase = "echo replay-expected-failure >&2; exit 3"; }` },
    { nope: 1 },
    { attr: 'hello', callback: '0x00000000000000000000000000000000000c0ffe' },
    { expr: `pkgs: derivation { name = "random-${Date.now()}"; system = pkgs.seed.system; builder = "\${pkgs.seed}/usr/bin/bash"; args = [ "-c" "echo $SRANDOM > $out" ]; }` },
  ]
  for (const request of requests) {
    const index = await addInput(devnet, JSON.stringify(request))
    await waitForInput(devnet, index)
    inputs.push(index)
  }
  for (const index of inputs) await claimAccepted(await epochOfInput(index))
})

afterAll(async () => {
  await devnet?.stop()
  await rm(scratch, { recursive: true, force: true })
})

describe('cartenix replay', () => {
  let honest: ReplayReport

  it('replays an honest history clean: every epoch agrees with its claim', async () => {
    honest = await replay({
      publicClient: clients(devnet).publicClient,
      chainUrl: devnet.chainUrl,
      application: devnet.deployment.application,
      etherPortal: devnet.deployment.etherPortal,
      system: 'x86_64-linux',
      workDir: join(scratch, 'work'),
    })
    expect(honest.template.hash).toBe(devnet.deployment.templateHash)
    expect(honest.inputs.map((i) => [i.index, i.status])).toEqual([[0, 'ACCEPTED'], [1, 'ACCEPTED'], [2, 'REJECTED'], [3, 'ACCEPTED'], [4, 'ACCEPTED']])
    // The rejected input emitted nothing: its epoch's root is the one already accepted, so the
    // dev node has nothing new to claim for it. Every other epoch has its claim, checked.
    const claimedInputs = [inputs[0], inputs[1], inputs[3], inputs[4]] as number[]
    expect(honest.epochs.map((e) => e.inputs)).toEqual(claimedInputs.map((i) => [i]))
    for (const [i, epoch] of honest.epochs.entries()) {
      expect(epoch).toMatchObject({ epoch: await epochOfInput(claimedInputs[i] ?? -1), agrees: true, accepted: true })
      expect(epoch.replayed).toBe(epoch.claimed)
    }
    expect(new Set(honest.epochs.map((e) => e.claimed)).size).toBe(4)
    expect(honest.agrees).toBe(true)
    // The random build was attested as not reproducible, by the node and by replay alike.
    expect((await reportsOf(devnet, inputs[4] ?? -1)).map((r) => r?.type)).toContain('not-reproducible')
    // Figures: the node's own processing time of each input, against the replay's.
    const state = JSON.parse(await readFile(join(scratch, 'devnet', 'node-state.json'), 'utf8').catch(() => '{}')) as { inputs?: { index: number; createdAt: string; updatedAt: string }[] }
    const original = new Map((state.inputs ?? []).map((i) => [i.index, Date.parse(i.updatedAt) - Date.parse(i.createdAt)]))
    console.log(`replay: ${honest.inputs.map((i) => `input ${i.index} ${i.status}: node ${original.get(i.index) ?? '?'} ms, replay ${i.ms} ms`).join('; ')}; whole replay ${honest.ms} ms`)
  })

  it('starts from --from-epoch with the outputs the chain accepted before it', async () => {
    const from = await epochOfInput(2)
    const { stdout } = await exec(process.execPath, [cli, 'replay', '--json', '--from-epoch', String(from), '--work-dir', join(scratch, 'work'), ...flags()])
    const report = JSON.parse(stdout) as ReplayReport
    expect(report.inputs.map((i) => i.index)).toEqual([2, 3, 4])
    // Input 2 is replayed (execution starts after the accepted claim of input 1's epoch), and
    // the claims from epoch `from` on are inputs 3's and 4's.
    expect(report.epochs.map((e) => e.epoch)).toEqual([await epochOfInput(3), await epochOfInput(4)])
    expect(report.agrees).toBe(true)
  })

  it('refuses a checkout whose template is not the application\'s, naming both hashes', async () => {
    const clone = await cloneSources(scratch)
    const lock = join(clone, 'image/sources.lock.json')
    await writeFile(lock, `${await readFile(lock, 'utf8')}\n`)
    const changed = await computeTemplate({ system: 'x86_64-linux', root: clone })
    const refused = await replay({
      publicClient: clients(devnet).publicClient,
      chainUrl: devnet.chainUrl,
      application: devnet.deployment.application,
      system: 'x86_64-linux',
      root: clone,
    }).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(TemplateMismatchError)
    expect((refused as Error).message).toContain(devnet.deployment.templateHash)
    expect((refused as Error).message).toContain(changed.hash)
    expect(changed.hash).not.toBe(devnet.deployment.templateHash)
  })

  it('catches a false claim: names the epoch and both roots, and exits non-zero', async () => {
    // The node stops, so that the only claim for the next epoch is the owner's false one.
    await devnet.stopNode()
    const index = await addInput(devnet, JSON.stringify({ attr: 'hello' }))
    const { publicClient } = clients(devnet)
    await publicClient.request({ method: 'anvil_mine' as never, params: ['0x1'] as never })
    const block = Number((await publicClient.getTransactionReceipt({ hash: (await rpcLastInputTx(index)) })).blockNumber)
    const falseRoot = keccak256(toHex('not what the inputs give'))
    const owner = createWalletClient({ chain: anvil, transport: http(devnet.chainUrl), account: privateKeyToAccount(devAccountKey) })
    const hash = await owner.writeContract({ address: devnet.deployment.consensus, abi: authorityAbi, functionName: 'submitClaim', args: [devnet.deployment.application, BigInt(block), falseRoot] })
    expect((await publicClient.waitForTransactionReceipt({ hash })).status).toBe('success')

    const failed = await exec(process.execPath, [cli, 'replay', '--work-dir', join(scratch, 'work'), ...flags()]).catch((error: unknown) => error)
    expect(failed).toBeInstanceOf(CommandFailedError)
    const { exitCode, stdout: out } = failed as CommandFailedError
    expect(exitCode).toBe(1)
    expect(out).toContain(falseRoot)
    expect(out).toMatch(new RegExp(`FALSE CLAIM: epoch ${block}\\b`))
    const honestLine = out.split('\n').find((line) => line.startsWith(`${block} `))
    expect(honestLine).toContain('DISAGREE')
    // The replayed root is the one the honest node would have claimed: after input 5's notice.
    const replayedRoot = honestLine?.split(/\s+/)[3] as Hex
    expect(replayedRoot).toMatch(/^0x[0-9a-f]{64}$/)
    expect(replayedRoot).not.toBe(falseRoot)
    expect(replayedRoot).not.toBe(honest.epochs.at(-1)?.replayed)
    await devnet.startNode()
  })
})

/** The transaction that added an input, from the chain (the node is stopped). */
async function rpcLastInputTx(index: number): Promise<Hex> {
  const { publicClient } = clients(devnet)
  const logs = await publicClient.getLogs({ address: devnet.deployment.inputBox, fromBlock: 0n })
  const log = logs.at(-1)
  if (!log?.transactionHash) throw new Error(`No InputAdded log for input ${index}`)
  return log.transactionHash
}
