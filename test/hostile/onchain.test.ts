/**
 * Hostile proofs and executions against the real rollups contracts on a real anvil, through the
 * client library. Two real builds (hello with the registry as callback: a notice and a voucher;
 * then hello again by expr: another notice in another epoch) give genuine outputs and proofs;
 * every forgery made from them must be refused by Application.validateOutput/executeOutput, and
 * where the client library is involved, it must say why in words.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BaseError, ContractFunctionRevertedError, createWalletClient, http, parseEventLogs, toHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import {
  CartenixError, createNodeClient, deployRegistry, executeVoucher, getOutput, NotAVoucherError, readRegistry, requestBuild, validateNotice,
  VoucherAlreadyExecutedError, waitForProof, waitForResult, WaitTimeoutError, type CartenixOutput, type NodeClient,
} from '../../contracts-client/host.ts'
import { applicationAbi, authorityAbi } from '../../contracts-client/abi/rollups.ts'
import { devAccountKey } from '../../scripts/devnode/anvil.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { clients, rpc, startTestDevnet, waitForProof as waitForAcceptedClaim } from '../harness/devnet.ts'

/**
 * anvil's second development account: it sends the requests and executions here, so that its
 * nonces never race the dev node's claims (sent from the first account, the Authority's owner).
 */
const userKey = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' as const

type Proven = CartenixOutput & { siblings: Hex[] }

let devnet: Devnet
let node: NodeClient
let registry: Hex
let notice: Proven
let voucher: Proven
let otherNotice: Proven
let tried = 0
let refused = 0

const wallet = () => createWalletClient({ chain: anvil, transport: http(devnet.chainUrl), account: privateKeyToAccount(userKey) })
const publicClient = () => clients(devnet).publicClient
const application = () => devnet.deployment.application

/** Waits until the output's epoch claim is accepted on-chain, then returns it with its proof. */
async function proven(outputIndex: bigint): Promise<Proven> {
  await waitForAcceptedClaim(devnet, Number(outputIndex))
  return waitForProof(node, { application: application(), outputIndex })
}

beforeAll(async () => {
  devnet = await startTestDevnet()
  node = createNodeClient({ url: `${devnet.nodeUrl}/rpc` })
  registry = (await deployRegistry(wallet(), { application: application() })).address
  const addresses = { application: application(), inputBox: devnet.deployment.inputBox }
  const first = await requestBuild(wallet(), { ...addresses, request: { attr: 'hello', callback: registry } })
  const built = await waitForResult(node, { application: application(), inputIndex: first.inputIndex })
  expect(built.notice.result.success).toBe(true)
  expect(built.vouchers).toHaveLength(1)
  const second = await requestBuild(wallet(), { ...addresses, request: { expr: 'pkgs: pkgs.hello' } })
  const other = await waitForResult(node, { application: application(), inputIndex: second.inputIndex })
  notice = await proven(built.notice.index)
  voucher = await proven(built.vouchers[0]?.index ?? -1n)
  otherNotice = await proven(other.notice.index)
  expect(otherNotice.epochIndex).not.toBe(notice.epochIndex)
})
afterAll(async () => {
  await devnet?.stop()
  console.log(`hostile on-chain: ${tried} tried, ${refused} refused by the contracts (the client library saying why where it was involved)`)
})

type Forgery = { index: bigint; rawData: Hex; siblings: readonly Hex[] }

/** validateNotice must answer { valid: false } with a reason that names the contract's error. */
async function expectRefused(what: string, forged: Forgery, errorName: string): Promise<void> {
  tried++
  const answer = await validateNotice(publicClient(), { application: application(), output: forged })
  expect(answer, what).toMatchObject({ valid: false, reason: expect.stringContaining(errorName) })
  expect((answer as { reason: string }).reason.length, what).toBeGreaterThan(errorName.length + 10)
  refused++
}

/** The contract's own error name for a call, or undefined when it did not revert. */
async function revertOf(call: Promise<unknown>): Promise<string | undefined> {
  const error = await call.then(() => undefined, (e: unknown) => e)
  if (error === undefined) return undefined
  const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined
  if (!(reverted instanceof ContractFunctionRevertedError)) throw error
  return reverted.data?.errorName ?? reverted.shortMessage
}

const flipByte = (data: Hex, at: number): Hex => {
  const bytes = Buffer.from(data.slice(2), 'hex')
  bytes[at] = (bytes[at] ?? 0) ^ 0x01
  return `0x${bytes.toString('hex')}`
}

const simulateExecute = (rawData: Hex, index: bigint, siblings: readonly Hex[]) =>
  publicClient().simulateContract({
    address: application(),
    abi: applicationAbi,
    functionName: 'executeOutput',
    args: [rawData, { outputIndex: index, outputHashesSiblings: [...siblings] }],
    account: wallet().account,
  })

describe('hostile proofs: Application.validateOutput refuses, validateNotice says why', () => {
  it('accepts the genuine outputs (the forgeries below start from these)', async () => {
    for (const output of [notice, voucher, otherNotice]) {
      expect(await validateNotice(publicClient(), { application: application(), output })).toEqual({ valid: true })
    }
  })

  it("refuses one output's proof used for another output's bytes", async () => {
    await expectRefused("the voucher's bytes with the notice's proof", { index: notice.index, rawData: voucher.rawData, siblings: notice.siblings }, 'InvalidOutputsMerkleRoot')
    await expectRefused("the notice's bytes with the voucher's proof", { index: voucher.index, rawData: notice.rawData, siblings: voucher.siblings }, 'InvalidOutputsMerkleRoot')
    await expectRefused("another input's notice with this notice's proof", { index: notice.index, rawData: otherNotice.rawData, siblings: notice.siblings }, 'InvalidOutputsMerkleRoot')
    await expectRefused("this notice with another epoch's proof", { index: otherNotice.index, rawData: notice.rawData, siblings: otherNotice.siblings }, 'InvalidOutputsMerkleRoot')
    await expectRefused("the notice's siblings at the voucher's index", { index: voucher.index, rawData: notice.rawData, siblings: notice.siblings }, 'InvalidOutputsMerkleRoot')
    await expectRefused('the notice at an index no output has', { index: notice.index + 1000n, rawData: notice.rawData, siblings: notice.siblings }, 'InvalidOutputsMerkleRoot')
    // Past the tree's 2^63 leaves the Merkle library refuses the index itself.
    for (const index of [2n ** 63n, 2n ** 64n - 1n]) {
      await expectRefused(`the notice at index ${index}`, { index, rawData: notice.rawData, siblings: notice.siblings }, 'index out of bounds')
    }
  })

  it('refuses the notice with any one of its bytes changed', async () => {
    const length = (notice.rawData.length - 2) / 2
    expect(length).toBeGreaterThan(300)
    // Every byte, a few dozen eth_calls at a time.
    for (let start = 0; start < length; start += 32) {
      await Promise.all(
        Array.from({ length: Math.min(32, length - start) }, (_, i) =>
          expectRefused(`the notice with byte ${start + i} changed`, { index: notice.index, rawData: flipByte(notice.rawData, start + i), siblings: notice.siblings }, 'InvalidOutputsMerkleRoot'),
        ),
      )
    }
    await expectRefused('the notice with one byte cut off', { index: notice.index, rawData: notice.rawData.slice(0, -2) as Hex, siblings: notice.siblings }, 'InvalidOutputsMerkleRoot')
    await expectRefused('the notice with one byte added', { index: notice.index, rawData: `${notice.rawData}00`, siblings: notice.siblings }, 'InvalidOutputsMerkleRoot')
  })

  it('refuses the notice with any one of its 63 siblings changed', async () => {
    expect(notice.siblings).toHaveLength(63)
    await Promise.all(
      notice.siblings.map((_, level) =>
        expectRefused(`sibling ${level} changed`, { index: notice.index, rawData: notice.rawData, siblings: notice.siblings.map((s, i) => (i === level ? flipByte(s, 31) : s)) }, 'InvalidOutputsMerkleRoot'),
      ),
    )
    const swapped = [...notice.siblings]
    ;[swapped[0], swapped[1]] = [swapped[1] as Hex, swapped[0] as Hex]
    await expectRefused('siblings 0 and 1 swapped', { index: notice.index, rawData: notice.rawData, siblings: swapped }, 'InvalidOutputsMerkleRoot')
  })

  it('refuses a proof with 62 siblings, or any count but 63', async () => {
    for (const count of [62, 0, 1, 64, 126]) {
      const siblings = count <= 63 ? notice.siblings.slice(0, count) : [...notice.siblings, ...Array<Hex>(count - 63).fill(`0x${'00'.repeat(32)}`)]
      expect(siblings).toHaveLength(count)
      await expectRefused(`a proof with ${count} siblings`, { index: notice.index, rawData: notice.rawData, siblings }, 'InvalidOutputHashesSiblingsArrayLength')
    }
  })
})

describe('hostile executions: Application.executeOutput refuses, executeVoucher says why', () => {
  it('refuses to execute a notice', async () => {
    tried++
    const viaClient = await executeVoucher(wallet(), { application: application(), output: notice }).catch((e: unknown) => e)
    expect(viaClient).toBeInstanceOf(NotAVoucherError)
    expect(String(viaClient)).toContain('not a voucher')
    expect(await revertOf(simulateExecute(notice.rawData, notice.index, notice.siblings))).toBe('OutputNotExecutable')
    refused++
  })

  it('refuses a voucher whose destination or payload was changed, with the genuine proof', async () => {
    const [me] = await wallet().getAddresses()
    const redirected = voucher.rawData.replace(registry.slice(2).toLowerCase(), (me ?? '').slice(2).toLowerCase()) as Hex
    expect(redirected).not.toBe(voucher.rawData)
    const length = (voucher.rawData.length - 2) / 2
    const forged: [string, Hex][] = [
      ['redirected to another destination', redirected],
      ['with one payload byte changed', flipByte(voucher.rawData, length - 40)],
      ['with its last byte changed', flipByte(voucher.rawData, length - 1)],
    ]
    for (const [what, rawData] of forged) {
      tried++
      const error = await executeVoucher(wallet(), { application: application(), output: { ...voucher, rawData } }).catch((e: unknown) => e)
      // The client says it in words (a CartenixError naming the contract's error).
      expect(error, what).toBeInstanceOf(CartenixError)
      expect(String(error), what).toContain('InvalidOutputsMerkleRoot')
      expect(await revertOf(simulateExecute(rawData, voucher.index, voucher.siblings)), what).toBe('InvalidOutputsMerkleRoot')
      refused++
    }
    tried++
    const short = await executeVoucher(wallet(), { application: application(), output: { ...voucher, siblings: voucher.siblings.slice(0, 62) } }).catch((e: unknown) => e)
    expect(String(short)).toContain('InvalidOutputHashesSiblingsArrayLength')
    refused++
    expect(await publicClient().readContract({ address: application(), abi: applicationAbi, functionName: 'wasOutputExecuted', args: [voucher.index] })).toBe(false)
    expect(await readRegistry(publicClient(), { registry, drvPath: notice.result?.drvPath ?? '' })).toBeUndefined()
  })

  it('executes the genuine voucher once, and refuses it the second time', async () => {
    const { transactionHash } = await executeVoucher(wallet(), { application: application(), output: voucher })
    const entry = await readRegistry(publicClient(), { registry, drvPath: notice.result?.drvPath ?? '' })
    expect(entry?.outputs.map((o) => o.narHash)).toEqual(notice.result?.outputs.map((o) => o.narHash))

    // Through the client: refused before any transaction is sent, in words.
    tried++
    const again = await executeVoucher(wallet(), { application: application(), output: voucher }).catch((e: unknown) => e)
    expect(again).toBeInstanceOf(VoucherAlreadyExecutedError)
    expect(again).toBeInstanceOf(CartenixError)
    expect(String(again)).toContain('already executed')
    refused++

    // Past the client: the contract refuses it itself, in a call and in a mined transaction.
    tried++
    expect(await revertOf(simulateExecute(voucher.rawData, voucher.index, voucher.siblings))).toBe('OutputNotReexecutable')
    const hash = await wallet().writeContract({
      address: application(),
      abi: applicationAbi,
      functionName: 'executeOutput',
      args: [voucher.rawData, { outputIndex: voucher.index, outputHashesSiblings: [...voucher.siblings] }],
      gas: 1_000_000n,
    })
    const receipt = await publicClient().waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('reverted')
    refused++

    const logs = await publicClient().getLogs({ address: application(), fromBlock: 0n })
    const executed = parseEventLogs({ abi: applicationAbi, logs, eventName: 'OutputExecuted' })
    expect(executed.map((e) => e.transactionHash)).toEqual([transactionHash])
  })
})

describe('an output whose epoch has no accepted claim', () => {
  // Runs last: it takes the Authority away from the dev node, so no later claim can be accepted.
  //
  // The node lists an output's 63 siblings as soon as its epoch's claim is *computed*
  // (CLAIM_COMPUTED), before the claim is submitted, let alone accepted. Here the claim can never
  // be accepted: the contract refuses the output (InvalidOutputsMerkleRoot), and waitForProof,
  // which also waits for the epoch's status to be CLAIM_ACCEPTED, never hands out that "proof"
  // (scripts/start.ts, `cartenix verify` and `cartenix execute` validate or execute right after it).
  it('is refused by the contract, and waitForProof does not call it proven: it times out', async () => {
    const authority = devnet.deployment.consensus
    const formerOwner = createWalletClient({ chain: anvil, transport: http(devnet.chainUrl), account: privateKeyToAccount(devAccountKey) })
    const [newOwner] = await wallet().getAddresses()
    const hash = await formerOwner.writeContract({ address: authority, abi: authorityAbi, functionName: 'transferOwnership', args: [newOwner as Hex] })
    expect((await publicClient().waitForTransactionReceipt({ hash })).status).toBe('success')

    const sent = await requestBuild(wallet(), { application: application(), inputBox: devnet.deployment.inputBox, request: { attr: 'hello' } })
    const { notice: unclaimed } = await waitForResult(node, { application: application(), inputIndex: sent.inputIndex })
    // The node computes the epoch's claim (and so the proof) but cannot submit it.
    const listed = await getOutputWhenListedWithSiblings(unclaimed.index)
    const { data: epoch } = await rpc(devnet, 'cartesi_getEpoch', { epoch_index: toHex(listed.epochIndex) })
    expect(epoch.status).not.toBe('CLAIM_ACCEPTED')

    tried++
    expect(await validateNotice(publicClient(), { application: application(), output: listed })).toMatchObject({
      valid: false,
      reason: expect.stringContaining('InvalidOutputsMerkleRoot'),
    })
    refused++

    const waited = await waitForProof(node, { application: application(), outputIndex: unclaimed.index, timeoutMs: 3_000, pollIntervalMs: 100 }).then(
      (output) => output,
      (error: unknown) => error,
    )
    expect(waited, 'waitForProof must wait for the claim (here: time out), not return an unclaimed output').toBeInstanceOf(WaitTimeoutError)
  })
})

/** The output as the node lists it once its siblings are there (the claim computed, not necessarily accepted). */
async function getOutputWhenListedWithSiblings(outputIndex: bigint): Promise<Proven> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const output = await getOutput(node, { application: application(), outputIndex })
    if (output.siblings) return { ...output, siblings: output.siblings }
    if (Date.now() > deadline) throw new Error(`output ${outputIndex} never got its siblings`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
