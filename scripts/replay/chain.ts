/**
 * What a disputer reads from the chain, and nothing else: the Application's template hash and
 * consensus, the consensus's epoch length and claims, and the inputs from InputAdded events.
 */
import { decodeFunctionData, parseEventLogs, type Address, type Hex, type PublicClient } from 'viem'
import { applicationAbi, authorityAbi, dataAvailabilityAbi, inputBoxAbi, quorumAbi } from '../../contracts-client/abi/rollups.ts'
import type { DeploymentRecord } from '../devnode/state.ts'

export type ApplicationFacts = {
  application: Address
  chainId: number
  templateHash: Hex
  /** The outputs Merkle root validator: an Authority or a Quorum. */
  consensus: Address
  consensusType: 'AUTHORITY' | 'QUORUM'
  /** A Quorum's validators, by id (1, 2, ...); none for an Authority. */
  validators: Address[]
  epochLength: number
  deploymentBlock: number
  inputBox: Address
}

export async function readApplication(client: PublicClient, application: Address): Promise<ApplicationFacts> {
  const app = { address: application, abi: applicationAbi } as const
  const [templateHash, consensus, deploymentBlock, dataAvailability, chainId] = await Promise.all([
    client.readContract({ ...app, functionName: 'getTemplateHash' }),
    client.readContract({ ...app, functionName: 'getOutputsMerkleRootValidator' }),
    client.readContract({ ...app, functionName: 'getDeploymentBlockNumber' }),
    client.readContract({ ...app, functionName: 'getDataAvailability' }),
    client.getChainId(),
  ])
  const { functionName, args } = decodeFunctionData({ abi: dataAvailabilityAbi, data: dataAvailability })
  if (functionName !== 'InputBox') throw new Error(`The application's data availability is ${functionName}, not InputBox: replay reads inputs from an InputBox only`)
  const epochLength = await client.readContract({ address: consensus, abi: authorityAbi, functionName: 'getEpochLength' })
  const validators = await readValidators(client, consensus)
  return {
    application,
    chainId,
    templateHash,
    consensus,
    consensusType: validators === undefined ? 'AUTHORITY' : 'QUORUM',
    validators: validators ?? [],
    epochLength: Number(epochLength),
    deploymentBlock: Number(deploymentBlock),
    inputBox: args[0],
  }
}

/** The deployment record a node keeps for an application, from what the chain says of it. */
export function deploymentOf(facts: ApplicationFacts, etherPortal: Address | undefined): DeploymentRecord {
  return {
    chainId: facts.chainId,
    inputBox: facts.inputBox,
    etherPortal: etherPortal ?? '0x0000000000000000000000000000000000000000',
    consensus: facts.consensus,
    consensusType: facts.consensusType,
    validators: facts.validators,
    application: facts.application,
    deploymentBlock: facts.deploymentBlock,
    epochLength: facts.epochLength,
    templateHash: facts.templateHash,
  }
}

/** A Quorum's validators by id, or undefined when the consensus is not a Quorum (it has no numOfValidators). */
export async function readValidators(client: PublicClient, consensus: Address): Promise<Address[] | undefined> {
  const count = await client.readContract({ address: consensus, abi: quorumAbi, functionName: 'numOfValidators' }).catch(() => undefined)
  if (count === undefined) return undefined
  return Promise.all(Array.from({ length: Number(count) }, (_, i) => client.readContract({ address: consensus, abi: quorumAbi, functionName: 'validatorById', args: [BigInt(i + 1)] })))
}

export type Claim = {
  epochIndex: number
  lastProcessedBlockNumber: number
  outputsMerkleRoot: Hex
  submitter: Address
  accepted: boolean
  transactionHash: Hex
}

/** Every claim submitted for the application up to `toBlock`, in chain order, marked accepted or not. */
export async function readClaims(client: PublicClient, facts: ApplicationFacts, toBlock: bigint): Promise<Claim[]> {
  const logs = await client.getLogs({ address: facts.consensus, fromBlock: BigInt(facts.deploymentBlock), toBlock })
  const submitted = parseEventLogs({ abi: authorityAbi, logs, eventName: 'ClaimSubmitted' })
  const accepted = parseEventLogs({ abi: authorityAbi, logs, eventName: 'ClaimAccepted' })
  const key = (block: bigint, root: Hex) => `${block}:${root.toLowerCase()}`
  const acceptedKeys = new Set(
    accepted
      .map((log) => log.args as { appContract: Address; lastProcessedBlockNumber: bigint; outputsMerkleRoot: Hex })
      .filter((args) => args.appContract.toLowerCase() === facts.application.toLowerCase())
      .map((args) => key(args.lastProcessedBlockNumber, args.outputsMerkleRoot)),
  )
  return submitted
    .map((log) => ({ log, args: log.args as { submitter: Address; appContract: Address; lastProcessedBlockNumber: bigint; outputsMerkleRoot: Hex } }))
    .filter(({ args }) => args.appContract.toLowerCase() === facts.application.toLowerCase())
    .map(({ log, args }) => ({
      epochIndex: Math.floor(Number(args.lastProcessedBlockNumber) / facts.epochLength),
      lastProcessedBlockNumber: Number(args.lastProcessedBlockNumber),
      outputsMerkleRoot: args.outputsMerkleRoot,
      submitter: args.submitter,
      accepted: acceptedKeys.has(key(args.lastProcessedBlockNumber, args.outputsMerkleRoot)),
      transactionHash: log.transactionHash,
    }))
}

export type ChainInput = { index: number; blockNumber: number; rawData: Hex; transactionHash: Hex }

/** The application's inputs from InputAdded events, in index order. */
export async function readInputs(client: PublicClient, facts: ApplicationFacts, toBlock: bigint): Promise<ChainInput[]> {
  const logs = await client.getLogs({ address: facts.inputBox, fromBlock: BigInt(facts.deploymentBlock), toBlock })
  return parseEventLogs({ abi: inputBoxAbi, logs, eventName: 'InputAdded' })
    .map((log) => ({ log, args: log.args as { appContract: Address; index: bigint; input: Hex } }))
    .filter(({ args }) => args.appContract.toLowerCase() === facts.application.toLowerCase())
    .map(({ log, args }) => ({ index: Number(args.index), blockNumber: Number(log.blockNumber), rawData: args.input, transactionHash: log.transactionHash }))
    .sort((a, b) => a.index - b.index)
}
