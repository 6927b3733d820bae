/**
 * What the dev node has seen and processed, persisted to one JSON file after every change that
 * matters (an input added, an input settled, an epoch closed or claimed), written atomically, so
 * that a restart neither loses nor repeats an input.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { z } from 'zod'
import { bytesHex } from '../../dapp/protocol/primitives.ts'
import { epochStatuses, inputStatuses } from '../../dapp/protocol/nodeApi.ts'

/** Bytes and addresses as the chain gave them (letter case kept). */
const hex = bytesHex

export const inputStatus = z.enum(inputStatuses)
export type InputStatus = z.infer<typeof inputStatus>

export const epochStatus = z.enum(epochStatuses)
export type EpochStatus = z.infer<typeof epochStatus>

export const inputRecord = z.object({
  index: z.number().int().nonnegative(),
  epochIndex: z.number().int().nonnegative(),
  blockNumber: z.number().int().nonnegative(),
  /** The EvmAdvance calldata exactly as InputBox emitted it. */
  rawData: hex,
  status: inputStatus,
  transactionHash: hex,
  /** Outputs Merkle root after this input (set once it is processed). */
  outputsHash: hex.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
})
export type InputRecord = z.infer<typeof inputRecord>

export const outputRecord = z.object({
  index: z.number().int().nonnegative(),
  inputIndex: z.number().int().nonnegative(),
  epochIndex: z.number().int().nonnegative(),
  /** Notice / Voucher / DelegateCallVoucher calldata: what the tree's leaf hashes. */
  rawData: hex,
  /** keccak256(rawData) and the proof siblings: null until the epoch's claim is computed. */
  hash: hex.nullable(),
  siblings: z.array(hex).nullable(),
  executionTransactionHash: hex.nullable(),
  createdAt: z.string(),
})
export type OutputRecord = z.infer<typeof outputRecord>

export const reportRecord = z.object({
  index: z.number().int().nonnegative(),
  inputIndex: z.number().int().nonnegative(),
  epochIndex: z.number().int().nonnegative(),
  rawData: hex,
  createdAt: z.string(),
})
export type ReportRecord = z.infer<typeof reportRecord>

export const epochRecord = z.object({
  index: z.number().int().nonnegative(),
  firstBlock: z.number().int().nonnegative(),
  lastBlock: z.number().int().nonnegative(),
  status: epochStatus,
  /** The outputs Merkle root claimed for this epoch. */
  claimHash: hex.nullable(),
  claimTransactionHash: hex.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
})
export type EpochRecord = z.infer<typeof epochRecord>

/** The consensus an application is deployed on: one owner, or a fixed set of validators of which 1 + N/2 must agree. */
export const consensusTypes = ['AUTHORITY', 'QUORUM'] as const
export type ConsensusType = (typeof consensusTypes)[number]

export const deploymentRecord = z.preprocess(
  // Records written before the Quorum named the consensus `authority`.
  (value) => (value && typeof value === 'object' && 'authority' in value && !('consensus' in value) ? { ...value, consensus: (value as { authority: unknown }).authority } : value),
  z.object({
    chainId: z.number().int().positive(),
    inputBox: hex,
    etherPortal: hex,
    /** The consensus contract: an Authority or a Quorum (consensusType). */
    consensus: hex,
    consensusType: z.enum(consensusTypes).default('AUTHORITY'),
    /** A Quorum's validators, in the order of their ids (1, 2, ...); none for an Authority. */
    validators: z.array(hex).default([]),
    application: hex,
    deploymentBlock: z.number().int().nonnegative(),
    epochLength: z.number().int().positive(),
    templateHash: hex,
  }),
)
export type DeploymentRecord = z.infer<typeof deploymentRecord>

export const nodeState = z.object({
  version: z.literal(1),
  applicationName: z.string(),
  deployment: deploymentRecord,
  /** The next block whose events have not been read yet. */
  nextBlock: z.number().int().nonnegative(),
  inputs: z.array(inputRecord),
  outputs: z.array(outputRecord),
  reports: z.array(reportRecord),
  epochs: z.array(epochRecord),
})
export type NodeState = z.infer<typeof nodeState>

export async function loadState(path: string): Promise<NodeState | undefined> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    throw error
  })
  return text === undefined ? undefined : nodeState.parse(JSON.parse(text))
}

let saves = 0

/** Writes the whole state to a fresh temporary file, then renames it over the old one. */
export async function saveState(path: string, state: NodeState): Promise<void> {
  const temporary = `${path}.${process.pid}.${++saves}.tmp`
  await writeFile(temporary, JSON.stringify(state))
  await rename(temporary, path)
}
