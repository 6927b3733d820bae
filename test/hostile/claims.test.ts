/**
 * Hostile claims against the real Authority (Cartesi Rollups v2.2.0) on a real anvil: a claim for
 * an epoch that is not over yet, for a block that does not end an epoch, from someone who is not
 * the owner, and a second claim for an epoch already claimed. Each must be refused by the
 * contract, in a call and, for the first, in a mined transaction that leaves no trace.
 *
 * The devnet runs with an epoch length of 10 blocks and no back end: no input is ever sent, so
 * the dev node never claims, and the only claims here are the ones this file makes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BaseError, ContractFunctionRevertedError, createWalletClient, http, keccak256, maxUint256, toHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import { authorityAbi } from '../../contracts-client/abi/rollups.ts'
import { devAccountKey } from '../../scripts/devnode/anvil.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { clients, startTestDevnet } from '../harness/devnet.ts'

const epochLength = 10n
/** anvil's second development account: not the Authority's owner. */
const strangerKey = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' as const

let devnet: Devnet
let tried = 0
let refused = 0

beforeAll(async () => {
  devnet = await startTestDevnet({ epochLength: Number(epochLength), backend: false })
})
afterAll(async () => {
  await devnet?.stop()
  console.log(`hostile claims: ${tried} tried, ${refused} refused by the Authority`)
})

const owner = () => createWalletClient({ chain: anvil, transport: http(devnet.chainUrl), account: privateKeyToAccount(devAccountKey) })
const stranger = () => createWalletClient({ chain: anvil, transport: http(devnet.chainUrl), account: privateKeyToAccount(strangerKey) })
const publicClient = () => clients(devnet).publicClient
const root = (label: string) => keccak256(toHex(`cartenix hostile claim ${label}`))
const lastBlockOf = (epoch: bigint) => epoch * epochLength + epochLength - 1n
const latest = () => publicClient().getBlockNumber()
const mine = (blocks: number) => publicClient().request({ method: 'anvil_mine' as never, params: [toHex(blocks)] as never })

/** Simulates Authority.submitClaim; returns the contract's error name, or undefined if it would pass. */
async function claimRevert(lastProcessedBlockNumber: bigint, outputsMerkleRoot: Hex, from = owner()): Promise<string | undefined> {
  const error = await publicClient()
    .simulateContract({
      address: devnet.deployment.consensus,
      abi: authorityAbi,
      functionName: 'submitClaim',
      args: [devnet.deployment.application, lastProcessedBlockNumber, outputsMerkleRoot],
      account: from.account,
    })
    .then(() => undefined, (e: unknown) => e)
  if (error === undefined) return undefined
  const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined
  if (!(reverted instanceof ContractFunctionRevertedError)) throw error
  return reverted.data?.errorName ?? reverted.shortMessage
}

async function expectRefused(what: string, lastProcessedBlockNumber: bigint, errorNames: string[], from = owner()): Promise<void> {
  tried++
  expect(await claimRevert(lastProcessedBlockNumber, root(what), from), `${what} (block ${lastProcessedBlockNumber})`).toBeOneOf(errorNames)
  refused++
}

const submittedClaims = () => publicClient().readContract({ address: devnet.deployment.consensus, abi: authorityAbi, functionName: 'getNumberOfSubmittedClaims' })
const isRootValid = (outputsMerkleRoot: Hex) =>
  publicClient().readContract({ address: devnet.deployment.consensus, abi: authorityAbi, functionName: 'isOutputsMerkleRootValid', args: [devnet.deployment.application, outputsMerkleRoot] })

describe('hostile claims: Authority.submitClaim refuses', () => {
  it('refuses a claim for an epoch that is not over yet', async () => {
    // Two whole epochs behind us, so the control below has a finished epoch to claim.
    await mine(Number(2n * epochLength))
    const now = await latest()
    const current = now / epochLength
    expect(await claimRevert(lastBlockOf(current - 1n), root('control'))).toBeUndefined()

    // Every epoch whose last block is at least two blocks ahead: even the next block to be mined
    // cannot be past it.
    const notOver = [current + 1n, current + 2n, current + 1000n, 10n ** 30n, maxUint256 / epochLength - 1n]
    if (lastBlockOf(current) >= now + 2n) notOver.unshift(current)
    for (const epoch of notOver) await expectRefused(`epoch ${epoch}, not over`, lastBlockOf(epoch), ['NotPastBlock'])
  })

  it('refuses it in a mined transaction too, which leaves no claim behind', async () => {
    tried++
    const before = await submittedClaims()
    const epoch = (await latest()) / epochLength + 1n
    const outputsMerkleRoot = root('mined, not over')
    const hash = await owner().writeContract({
      address: devnet.deployment.consensus,
      abi: authorityAbi,
      functionName: 'submitClaim',
      args: [devnet.deployment.application, lastBlockOf(epoch), outputsMerkleRoot],
      gas: 500_000n,
    })
    const receipt = await publicClient().waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('reverted')
    expect(receipt.logs).toEqual([])
    expect(await submittedClaims()).toBe(before)
    expect(await isRootValid(outputsMerkleRoot)).toBe(false)
    refused++
  })

  it('refuses a claim for a block that does not end an epoch', async () => {
    const now = await latest()
    const past = [0n, 1n, 5n, 8n, 10n, epochLength + 5n, 2n * epochLength - 2n].filter((b) => b < now && b % epochLength !== epochLength - 1n)
    expect(past.length).toBeGreaterThan(4)
    for (const block of past) await expectRefused('a past block that ends no epoch', block, ['NotEpochFinalBlock'])
    // Neither past nor final: either reason is a refusal.
    for (const block of [now + 3n * epochLength, maxUint256]) {
      if (block % epochLength !== epochLength - 1n) await expectRefused('a future block that ends no epoch', block, ['NotEpochFinalBlock', 'NotPastBlock'])
    }
  })

  it('refuses a claim from anyone but the owner, even for a finished epoch', async () => {
    const finished = (await latest()) / epochLength - 1n
    expect(await claimRevert(lastBlockOf(finished), root('owner control'))).toBeUndefined()
    await expectRefused('a stranger claiming a finished epoch', lastBlockOf(finished), ['OwnableUnauthorizedAccount'], stranger())
    await expectRefused('a stranger claiming an epoch not over', lastBlockOf(finished + 5n), ['OwnableUnauthorizedAccount', 'NotPastBlock'], stranger())
  })

  it('refuses a second claim for an epoch already claimed', async () => {
    const first = root('first claim of epoch 0')
    const hash = await owner().writeContract({
      address: devnet.deployment.consensus,
      abi: authorityAbi,
      functionName: 'submitClaim',
      args: [devnet.deployment.application, lastBlockOf(0n), first],
    })
    expect((await publicClient().waitForTransactionReceipt({ hash })).status).toBe('success')
    expect(await isRootValid(first)).toBe(true)
    await expectRefused('another root for epoch 0', lastBlockOf(0n), ['NotFirstClaim'])
    tried++
    expect(await claimRevert(lastBlockOf(0n), first)).toBe('NotFirstClaim')
    refused++
  })
})
