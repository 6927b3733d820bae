/**
 * The claims of an application as its consensus recorded them: who submitted which outputs root
 * for which epoch, and which root was accepted. For an Authority there is one submitter, its
 * owner; for a Quorum each validator's vote is a claim of its own, so a dissenting vote, or a
 * majority for a root other parties did not compute, is there for anyone to read.
 *
 * Reads the chain only (never a node), with viem's actions on any client, so that a browser page
 * and a terminal read the same.
 */
import { parseEventLogs, type Address, type Client, type Hex } from 'viem'
import { getLogs, readContract } from 'viem/actions'
import { applicationAbi, authorityAbi, quorumAbi } from '../abi/rollups.ts'

export type ConsensusFacts = {
  address: Address
  /** The names the rollups node gives them (`consensus_type`). */
  type: 'AUTHORITY' | 'QUORUM'
  /** A Quorum's validators, by id (1, 2, …); none for an Authority. */
  validators: Address[]
  epochLength: bigint
}

/** The application's consensus: an Authority, or a Quorum and its validators. */
export async function readConsensus(client: Client, parameters: { application: Address }): Promise<ConsensusFacts> {
  const address = await readContract(client, { address: parameters.application, abi: applicationAbi, functionName: 'getOutputsMerkleRootValidator' })
  const [epochLength, count] = await Promise.all([
    readContract(client, { address, abi: authorityAbi, functionName: 'getEpochLength' }),
    // Only a Quorum has numOfValidators: an Authority reverts.
    readContract(client, { address, abi: quorumAbi, functionName: 'numOfValidators' }).catch(() => undefined),
  ])
  if (count === undefined) return { address, type: 'AUTHORITY', validators: [], epochLength }
  const validators = await Promise.all(Array.from({ length: Number(count) }, (_, i) => readContract(client, { address, abi: quorumAbi, functionName: 'validatorById', args: [BigInt(i + 1)] })))
  return { address, type: 'QUORUM', validators, epochLength }
}

export type Claim = {
  epochIndex: bigint
  lastProcessedBlockNumber: bigint
  outputsMerkleRoot: Hex
  /** The Authority's owner, or the validator who voted. */
  submitter: Address
  /** Whether the consensus accepted this root for the epoch. */
  accepted: boolean
  transactionHash: Hex
}

export type ListClaimsParameters = {
  application: Address
  /** Read once already (default: read from the chain). */
  consensus?: ConsensusFacts
  /** Default: the application's deployment block. */
  fromBlock?: bigint
  /** Default: the latest block. */
  toBlock?: bigint
}

/**
 * Every claim submitted for the application, in chain order, each marked accepted or not.
 *
 * @example
 * const claims = await listClaims(publicClient, { application: '0x…' })
 * claims.filter((c) => c.epochIndex === 5n) // each validator's vote in epoch 5
 */
export async function listClaims(client: Client, parameters: ListClaimsParameters): Promise<Claim[]> {
  const { application } = parameters
  const consensus = parameters.consensus ?? (await readConsensus(client, { application }))
  const fromBlock = parameters.fromBlock ?? (await readContract(client, { address: application, abi: applicationAbi, functionName: 'getDeploymentBlockNumber' }))
  const logs = await getLogs(client, { address: consensus.address, fromBlock, toBlock: parameters.toBlock ?? 'latest' })
  const ours = (app: Address | undefined) => app?.toLowerCase() === application.toLowerCase()
  const key = (block: bigint | undefined, root: Hex | undefined) => `${block}:${root?.toLowerCase()}`
  const accepted = new Set(
    parseEventLogs({ abi: authorityAbi, logs, eventName: 'ClaimAccepted' })
      .filter((log) => ours(log.args.appContract))
      .map((log) => key(log.args.lastProcessedBlockNumber, log.args.outputsMerkleRoot)),
  )
  return parseEventLogs({ abi: authorityAbi, logs, eventName: 'ClaimSubmitted' })
    .filter((log) => ours(log.args.appContract))
    .map((log) => ({
      epochIndex: log.args.lastProcessedBlockNumber / consensus.epochLength,
      lastProcessedBlockNumber: log.args.lastProcessedBlockNumber,
      outputsMerkleRoot: log.args.outputsMerkleRoot,
      submitter: log.args.submitter,
      accepted: accepted.has(key(log.args.lastProcessedBlockNumber, log.args.outputsMerkleRoot)),
      transactionHash: log.transactionHash,
    }))
}

export type EpochVotes = {
  epochIndex: bigint
  lastProcessedBlockNumber: bigint
  /** The root the consensus accepted, or null while none is. */
  acceptedRoot: Hex | null
  /** Each submission (for a Quorum, each validator's vote), in chain order. */
  votes: { submitter: Address; root: Hex; agreesWithAccepted: boolean | null; transactionHash: Hex }[]
}

/** Claims grouped by epoch, oldest first: the accepted root and each vote beside it. */
export function votesByEpoch(claims: readonly Claim[]): EpochVotes[] {
  const epochs = new Map<bigint, EpochVotes>()
  for (const claim of claims) {
    let epoch = epochs.get(claim.epochIndex)
    if (!epoch) {
      epoch = { epochIndex: claim.epochIndex, lastProcessedBlockNumber: claim.lastProcessedBlockNumber, acceptedRoot: null, votes: [] }
      epochs.set(claim.epochIndex, epoch)
    }
    if (claim.accepted) epoch.acceptedRoot = claim.outputsMerkleRoot
    epoch.votes.push({ submitter: claim.submitter, root: claim.outputsMerkleRoot, agreesWithAccepted: null, transactionHash: claim.transactionHash })
  }
  for (const epoch of epochs.values()) {
    const accepted = epoch.acceptedRoot?.toLowerCase()
    for (const vote of epoch.votes) vote.agreesWithAccepted = accepted === undefined ? null : vote.root.toLowerCase() === accepted
  }
  return [...epochs.values()].sort((a, b) => (a.epochIndex < b.epochIndex ? -1 : 1))
}
