/**
 * The rollups node v2 read API on the wire: snake_case fields and 0x-hex quantities. This is the
 * only module that knows them; everything leaves it parsed, camelCase, with bigints.
 */
// A namespace import lets a bundler drop the parts of zod that are unused (the web page's bundle).
import * as z from 'zod'
import type { Address, Hex } from 'viem'

const hex = z.string().regex(/^0x[0-9a-fA-F]*$/, 'a 0x-prefixed hex string').transform((s) => s.toLowerCase() as Hex)
const quantity = z
  .string()
  .regex(/^0x[0-9a-fA-F]+$/, 'a 0x-prefixed hex quantity')
  .transform((s) => BigInt(s))
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an address').transform((s) => s as Address)
const hash = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte hash').transform((s) => s.toLowerCase() as Hex)

export const inputStatuses = [
  'NONE', 'ACCEPTED', 'REJECTED', 'EXCEPTION', 'MACHINE_HALTED', 'OUTPUTS_LIMIT_EXCEEDED', 'CYCLE_LIMIT_EXCEEDED',
  'TIME_LIMIT_EXCEEDED', 'PAYLOAD_LENGTH_LIMIT_EXCEEDED',
] as const
export type InputStatus = (typeof inputStatuses)[number]

export const wireInput = z
  .object({
    epoch_index: quantity,
    index: quantity,
    block_number: quantity,
    raw_data: hex,
    status: z.enum(inputStatuses),
    outputs_hash: hash.nullable().optional(),
    transaction_reference: hex.nullable().optional(),
    decoded_data: z
      .object({
        chain_id: quantity,
        application_contract: address,
        sender: address,
        block_number: quantity,
        block_timestamp: quantity,
        prev_randao: quantity,
        index: quantity,
        payload: hex,
      })
      .optional(),
  })
  .transform((w) => ({
    index: w.index,
    epochIndex: w.epoch_index,
    blockNumber: w.block_number,
    status: w.status,
    rawData: w.raw_data,
    outputsHash: w.outputs_hash ?? null,
    transactionHash: w.transaction_reference ?? null,
    sender: w.decoded_data?.sender,
    payload: w.decoded_data?.payload,
  }))
export type NodeInput = z.output<typeof wireInput>

const wireDecodedOutput = z.discriminatedUnion('type', [
  z.object({ type: z.literal('Notice'), payload: hex }),
  z.object({ type: z.literal('Voucher'), destination: address, value: quantity, payload: hex }),
  z.object({ type: z.literal('DelegateCallVoucher'), destination: address, payload: hex }),
])
export type DecodedOutput = z.output<typeof wireDecodedOutput>

export const wireOutput = z
  .object({
    epoch_index: quantity,
    input_index: quantity,
    index: quantity,
    raw_data: hex,
    decoded_data: wireDecodedOutput,
    hash: hash.nullable().optional(),
    output_hashes_siblings: z.array(hash).nullable().optional(),
    execution_transaction_hash: hash.nullable().optional(),
  })
  .transform((w) => ({
    index: w.index,
    epochIndex: w.epoch_index,
    inputIndex: w.input_index,
    rawData: w.raw_data,
    decoded: w.decoded_data,
    hash: w.hash ?? null,
    /** The 63 siblings of the output in the outputs Merkle tree; null until its epoch is claimed. */
    siblings: w.output_hashes_siblings ?? null,
    executionTransactionHash: w.execution_transaction_hash ?? null,
  }))
export type NodeOutput = z.output<typeof wireOutput>

export const wireReport = z
  .object({ epoch_index: quantity, input_index: quantity, index: quantity, raw_data: hex })
  .transform((w) => ({ index: w.index, epochIndex: w.epoch_index, inputIndex: w.input_index, payload: w.raw_data }))
export type NodeReport = z.output<typeof wireReport>

export const epochStatuses = ['OPEN', 'CLOSED', 'INPUTS_PROCESSED', 'CLAIM_COMPUTED', 'CLAIM_SUBMITTED', 'CLAIM_ACCEPTED', 'CLAIM_REJECTED'] as const
export type EpochStatus = (typeof epochStatuses)[number]

export const wireEpoch = z
  .object({
    index: quantity,
    first_block: quantity,
    last_block: quantity,
    status: z.string(),
    claim_hash: hash.nullable().optional(),
    outputs_merkle_root: hash.nullable().optional(),
    claim_transaction_hash: hash.nullable().optional(),
  })
  .transform((w) => ({
    index: w.index,
    firstBlock: w.first_block,
    lastBlock: w.last_block,
    status: w.status,
    /** The outputs Merkle root claimed for the epoch (`claim_hash`, or `outputs_merkle_root` on newer nodes). */
    claimHash: w.claim_hash ?? w.outputs_merkle_root ?? null,
    claimTransactionHash: w.claim_transaction_hash ?? null,
  }))
export type NodeEpoch = z.output<typeof wireEpoch>

export const wireApplication = z
  .object({
    name: z.string(),
    iapplication_address: address,
    iconsensus_address: address,
    iinputbox_address: address.optional(),
    epoch_length: quantity,
    processed_inputs: quantity.optional(),
  })
  .transform((w) => ({
    name: w.name,
    address: w.iapplication_address,
    consensus: w.iconsensus_address,
    inputBox: w.iinputbox_address,
    epochLength: w.epoch_length,
    processedInputs: w.processed_inputs,
  }))
export type NodeApplication = z.output<typeof wireApplication>

export const wirePagination = z
  .object({ total_count: z.number(), limit: z.number(), offset: z.number() })
  .transform((w) => ({ totalCount: w.total_count, limit: w.limit, offset: w.offset }))

export const listOf = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), pagination: wirePagination })
export const single = <T extends z.ZodType>(item: T) => z.object({ data: item })
export const quantityResult = z.object({ data: quantity })

export const toQuantity = (n: bigint | number) => `0x${n.toString(16)}`

/** The answer of POST /inspect/<application>: the verdict and the reports the back end wrote. */
export const wireInspectResult = z
  .object({
    status: z.string(),
    exception: z.string().nullable().optional(),
    reports: z.array(z.object({ payload: hex })),
    processed_input_count: z.number(),
  })
  .transform((w) => ({ status: w.status, exception: w.exception || undefined, reports: w.reports, processedInputCount: w.processed_input_count }))
