/**
 * What a disputer reads from the chain, and nothing else: the Application's template hash and
 * consensus, the consensus's epoch length and claims, and the inputs from InputAdded events.
 */
import { decodeFunctionData, parseEventLogs, type Address, type Hex, type PublicClient } from 'viem'
import { applicationAbi, dataAvailabilityAbi, inputBoxAbi } from '../../contracts-client/abi/rollups.ts'
import { listClaims, readConsensus } from '../../contracts-client/actions/listClaims.ts'
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
    readConsensus(client, { application }),
    client.readContract({ ...app, functionName: 'getDeploymentBlockNumber' }),
    client.readContract({ ...app, functionName: 'getDataAvailability' }),
    client.getChainId(),
  ])
  const { functionName, args } = decodeFunctionData({ abi: dataAvailabilityAbi, data: dataAvailability })
  if (functionName !== 'InputBox') throw new Error(`The application's data availability is ${functionName}, not InputBox: replay reads inputs from an InputBox only`)
  return {
    application,
    chainId,
    templateHash,
    consensus: consensus.address,
    consensusType: consensus.type,
    validators: consensus.validators,
    epochLength: Number(consensus.epochLength),
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

export type Claim = {
  epochIndex: number
  lastProcessedBlockNumber: number
  outputsMerkleRoot: Hex
  submitter: Address
  accepted: boolean
  transactionHash: Hex
}

/** Every claim submitted for the application up to `toBlock`, in chain order, marked accepted or not (listClaims, in numbers). */
export async function readClaims(client: PublicClient, facts: ApplicationFacts, toBlock: bigint): Promise<Claim[]> {
  const consensus = { address: facts.consensus, type: facts.consensusType, validators: facts.validators, epochLength: BigInt(facts.epochLength) }
  const claims = await listClaims(client, { application: facts.application, consensus, fromBlock: BigInt(facts.deploymentBlock), toBlock })
  return claims.map((claim) => ({ ...claim, epochIndex: Number(claim.epochIndex), lastProcessedBlockNumber: Number(claim.lastProcessedBlockNumber) }))
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
