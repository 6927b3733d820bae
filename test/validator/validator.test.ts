/**
 * `cartenix validator` against a real devnet on the 2.2.0 Quorum of three (anvil's accounts 0, 2
 * and 3); the dev node only reads. Each validator re-executes with a Nix store and state of its
 * own: a build's notice validates once two have voted, the third agrees, a restarted validator
 * does not vote twice, one told to follow anvil's `safe` block waits for it, and a checkout whose
 * template differs or a key that is no validator is refused.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { toHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { quorumAbi } from '../../contracts-client/abi/rollups.ts'
import { createNodeClient, validateNotice, waitForProof, waitForResult } from '../../contracts-client/index.ts'
import { computeTemplate } from '../../image/template.ts'
import { devAccountKey, devUserKey, devValidatorKeys } from '../../scripts/devnode/anvil.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { TemplateMismatchError } from '../../scripts/replay/replay.ts'
import { NotAValidatorError, startValidator, type Validator, type ValidatorEvent } from '../../scripts/validator/validator.ts'
import { cloneSources } from '../harness/clone.ts'
import { addInput, clients, rpc, startTestDevnet, waitFor } from '../harness/devnet.ts'

const keys = [devAccountKey, ...devValidatorKeys] as Hex[]
let devnet: Devnet
let scratch: string
const running: Validator[] = []
const events: ValidatorEvent[][] = [[], [], []]
/** The validators' logs, printed when a test fails. */
const lines: string[] = []

const start = (which: number, options: { root?: string; key?: Hex; blockTag?: 'safe'; stateDir?: string } = {}) =>
  startValidator({
    chainUrl: devnet.chainUrl,
    application: devnet.deployment.application,
    privateKey: options.key ?? (keys[which] as Hex),
    stateDir: options.stateDir ?? join(scratch, `validator-${which}`),
    ...(options.blockTag ? { blockTag: options.blockTag } : {}),
    system: 'x86_64-linux',
    etherPortal: devnet.deployment.etherPortal,
    root: options.root,
    onEvent: (event) => events[which]?.push(event),
    log: (line) => lines.push(`[validator ${which}] ${line}`),
  })

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'cartenix-validators-'))
  devnet = await startTestDevnet({ dir: join(scratch, 'devnet'), quorumValidators: keys.map((k) => privateKeyToAccount(k).address), vote: false })
})
afterAll(async () => {
  for (const validator of running) await validator.stop()
  await devnet?.stop()
  await rm(scratch, { recursive: true, force: true })
})

const votesFor = (lastBlock: number, root: Hex) =>
  clients(devnet).publicClient.readContract({ address: devnet.deployment.consensus, abi: quorumAbi, functionName: 'numOfValidatorsInFavorOf', args: [devnet.deployment.application, BigInt(lastBlock), root] })

describe('cartenix validator', () => {
  it('refuses a key that is not one of the Quorum\'s validators, and a checkout whose template differs, naming both hashes', async () => {
    const stranger = await start(0, { key: devUserKey }).catch((e: unknown) => e)
    expect(stranger).toBeInstanceOf(NotAValidatorError)
    expect(String(stranger).toLowerCase()).toContain(`${privateKeyToAccount(devUserKey).address} is not a validator of the quorum ${devnet.deployment.consensus}`.toLowerCase())
    const clone = await cloneSources(scratch)
    const lock = join(clone, 'image/sources.lock.json')
    await writeFile(lock, `${await readFile(lock, 'utf8')}\n`)
    const changed = await computeTemplate({ system: 'x86_64-linux', root: clone })
    const refused = await start(0, { root: clone }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(TemplateMismatchError)
    expect(String(refused)).toContain(devnet.deployment.templateHash)
    expect(String(refused)).toContain(changed.hash)
  })

  it('three validators, each with its own store: the notice validates once two voted, the third agrees, a restart does not vote twice', async () => {
    onTestFailed(() => console.log(lines.join('\n')))
    running.push(await start(0))
    const request = { expr: `pkgs: derivation { name = "voted-${Date.now()}"; system = pkgs.seed.system; builder = "\${pkgs.seed}/usr/bin/bash"; args = [ "-c" "echo built by every validator alike > $out" ]; }` }
    const index = await addInput(devnet, JSON.stringify(request))
    // One vote of three: the dev node, which only reads, says its root was submitted, not accepted.
    const epochOf = Number((await waitFor('the dev node to read the input', async () => (await rpc(devnet, 'cartesi_getInput', { input_index: toHex(index) }).catch(() => undefined))?.data, 60_000)).epochIndex)
    const firstVote = await waitFor('the first vote', async () => {
      const { data } = await rpc(devnet, 'cartesi_getEpoch', { epoch_index: toHex(epochOf) })
      return data.status === 'CLAIM_SUBMITTED' ? data : undefined
    }, 300_000)
    expect(await votesFor(Number(firstVote.lastBlock), firstVote.claimHash as Hex)).toBe(1n)
    running.push(await start(1))
    const node = createNodeClient({ url: `${devnet.nodeUrl}/rpc` })
    // The dev node only reads; the validators' votes get the epoch accepted.
    const { notice } = await waitForResult(node, { application: devnet.deployment.application, inputIndex: BigInt(index), timeoutMs: 600_000 })
    expect(notice.result.success).toBe(true)
    const proven = await waitForProof(node, { application: devnet.deployment.application, outputIndex: notice.index, timeoutMs: 600_000 })
    expect((await validateNotice(clients(devnet).publicClient, { application: devnet.deployment.application, output: proven })).valid).toBe(true)
    const epochIndex = Number((await rpc(devnet, 'cartesi_getInput', { input_index: toHex(index) })).data.epochIndex)
    const { data: epoch } = await rpc(devnet, 'cartesi_getEpoch', { epoch_index: toHex(epochIndex) })
    const root = epoch.claimHash as Hex
    const lastBlock = Number(epoch.lastBlock)
    expect(await votesFor(lastBlock, root)).toBe(2n)
    for (const which of [0, 1]) {
      await waitFor(`validator ${which}'s accepted event`, async () => events[which]?.find((e) => e.event === 'accepted' && e.epoch === epochIndex), 60_000)
      expect(events[which]?.find((e) => e.event === 'vote' && e.epoch === epochIndex)).toMatchObject({ root, lastBlock })
    }

    // The third catches up from nothing and agrees.
    const third = await start(2)
    await waitFor("the third validator's vote", async () => ((await votesFor(lastBlock, root)) === 3n ? true : undefined), 600_000)
    // Stopped and started again on its state: it does not vote a second time.
    await third.stop()
    const again = await start(2)
    running.push(again)
    await waitFor('the restarted validator to reach the epoch', async () => again.node.state.epochs.find((e) => e.index === epochIndex && e.status === 'CLAIM_ACCEPTED'), 120_000)
    const submitted = await clients(devnet).publicClient.getContractEvents({ address: devnet.deployment.consensus, abi: quorumAbi, eventName: 'ClaimSubmitted', fromBlock: 0n })
    const byThird = submitted.filter((e) => e.args.submitter === privateKeyToAccount(keys[2] as Hex).address && e.args.lastProcessedBlockNumber === BigInt(lastBlock))
    expect(byThird).toHaveLength(1)
  })

  it("follows the block it is told: on anvil's `safe` block (32 behind), an input is re-executed and voted only once 32 more blocks are mined", async () => {
    onTestFailed(() => console.log(lines.join('\n')))
    // The third key, on a fresh state directory: it voted in every earlier epoch, so it votes only in the new one.
    await running.pop()?.stop()
    events[2] = []
    const cautious = await start(2, { blockTag: 'safe', stateDir: join(scratch, 'validator-2-safe') })
    running.push(cautious)
    const index = await addInput(devnet, JSON.stringify({ expr: `pkgs: derivation { name = "safe-${Date.now()}"; system = pkgs.seed.system; builder = "\${pkgs.seed}/usr/bin/bash"; args = [ "-c" "echo behind > $out" ]; }` }))
    const input = await waitFor('the others to process the input', async () => {
      const { data } = await rpc(devnet, 'cartesi_getInput', { input_index: toHex(index) }).catch(() => ({ data: undefined }))
      return data && data.status !== 'NONE' ? data : undefined
    }, 300_000)
    await new Promise((resolve) => setTimeout(resolve, 3000))
    expect(cautious.node.state.inputs.find((i) => i.index === index)).toBeUndefined()
    expect(events[2]?.some((e) => e.event === 'input' && e.index === index)).toBe(false)

    await clients(devnet).publicClient.request({ method: 'anvil_mine' as never, params: ['0x21'] as never })
    await waitFor("the cautious validator's vote", async () => events[2]?.find((e) => e.event === 'vote' && e.epoch === Number(input.epochIndex)), 300_000)
    const submitted = await clients(devnet).publicClient.getContractEvents({ address: devnet.deployment.consensus, abi: quorumAbi, eventName: 'ClaimSubmitted', fromBlock: 0n })
    const byThird = submitted.filter((e) => e.args.submitter === privateKeyToAccount(keys[2] as Hex).address && e.args.lastProcessedBlockNumber === input.blockNumber)
    expect(byThird).toHaveLength(1)
    expect(byThird[0]?.args.outputsMerkleRoot).toBe((await rpc(devnet, 'cartesi_getEpoch', { epoch_index: toHex(input.epochIndex) })).data.claimHash)
  })
})
