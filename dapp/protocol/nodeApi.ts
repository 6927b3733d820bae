/**
 * The rollups node v2 read API on the wire (JSON-RPC at POST /rpc, inspect at POST
 * /inspect/<application>): snake_case fields and 0x-hex quantities. Written once, here: the dev
 * node builds its answers as `z.input` of these records, and the client library reads them
 * through the `wire*` schemas, which leave parsed, camelCase, with bigints. A field changed here
 * fails `tsc` on both sides.
 */
// A namespace import lets a bundler drop the parts of zod that are unused (the web page's bundle).
import * as z from 'zod'
import { decodeFunctionData, parseAbi, toFunctionSelector, type Hex } from 'viem'
import { address, addressPattern, hash, hex, quantity } from './primitives.ts'

export { toQuantity } from './primitives.ts'

/** When the node wrote or last changed a record (ISO 8601); the client does not read them. */
const timestamps = { created_at: z.string().optional(), updated_at: z.string().optional() }

export const inputStatuses = [
  'NONE', 'ACCEPTED', 'REJECTED', 'EXCEPTION', 'MACHINE_HALTED', 'OUTPUTS_LIMIT_EXCEEDED', 'CYCLE_LIMIT_EXCEEDED',
  'TIME_LIMIT_EXCEEDED', 'PAYLOAD_LENGTH_LIMIT_EXCEEDED',
] as const
export type InputStatus = (typeof inputStatuses)[number]

/** What each input status means, in words (the CLI and the page show them beside the status). */
export const inputStatusWords: Record<InputStatus, string> = {
  NONE: 'not processed yet',
  ACCEPTED: 'accepted: its outputs count',
  REJECTED: 'rejected by the back end: its outputs are dropped, its reports say why',
  EXCEPTION: 'ended in an exception: its outputs are dropped',
  MACHINE_HALTED: 'the machine halted while processing it',
  OUTPUTS_LIMIT_EXCEEDED: 'it emitted more outputs than the machine allows',
  CYCLE_LIMIT_EXCEEDED: 'it ran past the cycles the node allows an input',
  TIME_LIMIT_EXCEEDED: "it ran past the node's deadline for an input",
  PAYLOAD_LENGTH_LIMIT_EXCEEDED: 'its payload is longer than the machine takes',
}

/** `ACCEPTED (accepted: its outputs count)`; a status this client does not know is named as such. */
export function describeInputStatus(status: string): string {
  const words = Object.hasOwn(inputStatusWords, status) ? inputStatusWords[status as InputStatus] : 'a status this client does not know'
  return `${status} (${words})`
}

export const epochStatuses = ['OPEN', 'CLOSED', 'INPUTS_PROCESSED', 'CLAIM_COMPUTED', 'CLAIM_SUBMITTED', 'CLAIM_ACCEPTED', 'CLAIM_REJECTED'] as const
export type EpochStatus = (typeof epochStatuses)[number]

/** The fields of EvmAdvance, as the node decodes an input's raw data. */
export const evmAdvanceRecord = z.object({
  chain_id: quantity,
  application_contract: address,
  sender: address,
  block_number: quantity,
  block_timestamp: quantity,
  prev_randao: quantity,
  index: quantity,
  payload: hex,
})

/** A status the node may send: one of the known ones, or a newer node's, kept as it is. */
const statusOf = <const S extends readonly string[]>(known: S) =>
  z.string().transform((s) => s as S[number] | (string & Record<never, never>))

export const inputRecord = z.object({
  epoch_index: quantity,
  index: quantity,
  block_number: quantity,
  raw_data: hex,
  decoded_data: evmAdvanceRecord.nullable().optional(),
  status: statusOf(inputStatuses),
  machine_hash: hash.nullable().optional(),
  outputs_hash: hash.nullable().optional(),
  transaction_reference: hex.nullable().optional(),
  ...timestamps,
})

/** The three kinds of output, as the Outputs interface of the rollups contracts declares them. */
export const outputsInterface = parseAbi([
  'function Notice(bytes payload)',
  'function Voucher(address destination, uint256 value, bytes payload)',
  'function DelegateCallVoucher(address destination, bytes payload)',
])
/** Each kind's 4-byte selector, which the v2 API sends as `decoded_data.type`. */
export const outputSelectors = {
  Notice: toFunctionSelector(outputsInterface[0]),
  Voucher: toFunctionSelector(outputsInterface[1]),
  DelegateCallVoucher: toFunctionSelector(outputsInterface[2]),
} as const
type OutputKind = keyof typeof outputSelectors
/** `type` as the v2 API writes it (the selector), or as the kind's name (older dev nodes); read as the name. */
const outputType = <K extends OutputKind>(kind: K) =>
  z.union([z.literal(outputSelectors[kind]), z.literal(kind)]).transform((): K => kind)

export const decodedOutputRecord = z.union([
  z.object({ type: outputType('Notice'), payload: hex }),
  z.object({ type: outputType('Voucher'), destination: address, value: quantity, payload: hex }),
  z.object({ type: outputType('DelegateCallVoucher'), destination: address, payload: hex }),
])
export type DecodedOutput = z.output<typeof decodedOutputRecord>

/** An output's raw data decoded as the node decodes it: `decoded_data` with the selector as `type`. */
export function decodeOutputData(rawData: Hex): z.input<typeof decodedOutputRecord> {
  const decoded = decodeFunctionData({ abi: outputsInterface, data: rawData })
  const toQuantityHex = (n: bigint) => `0x${n.toString(16)}`
  switch (decoded.functionName) {
    case 'Notice':
      return { type: outputSelectors.Notice, payload: decoded.args[0] }
    case 'Voucher':
      return { type: outputSelectors.Voucher, destination: decoded.args[0], value: toQuantityHex(decoded.args[1]), payload: decoded.args[2] }
    case 'DelegateCallVoucher':
      return { type: outputSelectors.DelegateCallVoucher, destination: decoded.args[0], payload: decoded.args[1] }
    default:
      throw new Error(`Not an output: ${rawData.slice(0, 10)}`)
  }
}

export const outputRecord = z.object({
  epoch_index: quantity,
  input_index: quantity,
  index: quantity,
  raw_data: hex,
  /** Nullable in the API: a client then decodes raw_data itself. */
  decoded_data: decodedOutputRecord.nullable().optional(),
  /** The output's hash and its 63 siblings in the outputs Merkle tree: null until its epoch's claim is computed. */
  hash: hash.nullable().optional(),
  output_hashes_siblings: z.array(hash).nullable().optional(),
  execution_transaction_hash: hash.nullable().optional(),
  ...timestamps,
})

export const reportRecord = z.object({ epoch_index: quantity, input_index: quantity, index: quantity, raw_data: hex, ...timestamps })

export const epochRecord = z.object({
  index: quantity,
  first_block: quantity,
  last_block: quantity,
  input_index_lower_bound: quantity.optional(),
  input_index_upper_bound: quantity.optional(),
  machine_hash: hash.nullable().optional(),
  /** The outputs Merkle root claimed for the epoch: `outputs_merkle_root` in the v2 API, `claim_hash` from the dev node. */
  outputs_merkle_root: hash.nullable().optional(),
  claim_hash: hash.nullable().optional(),
  claim_transaction_hash: hash.nullable().optional(),
  commitment: hash.nullable().optional(),
  tournament_address: address.nullable().optional(),
  status: z.string(),
  virtual_index: quantity.optional(),
  ...timestamps,
})

/**
 * How the node runs an application's machine (v2's ExecutionParameters). Durations are
 * nanoseconds of wall clock; cycles are the machine's. `advance_max_deadline` is the one a build
 * service lives by: an advance that runs past it ends as TIME_LIMIT_EXCEEDED.
 */
export const executionParametersRecord = z.object({
  snapshot_policy: z.string(),
  advance_inc_cycles: quantity,
  advance_max_cycles: quantity,
  inspect_inc_cycles: quantity,
  inspect_max_cycles: quantity,
  advance_inc_deadline: quantity,
  advance_max_deadline: quantity,
  inspect_inc_deadline: quantity,
  inspect_max_deadline: quantity,
  load_deadline: quantity,
  store_deadline: quantity,
  fast_deadline: quantity,
  max_concurrent_inspects: z.number().int().positive(),
  ...timestamps,
})

const seconds = (s: number) => BigInt(s) * 1_000_000_000n

/** The real node's defaults (its schema's initial migration), nanoseconds for durations. */
export const defaultExecutionParameters = {
  snapshotPolicy: 'NONE',
  advanceIncCycles: 1n << 22n,
  advanceMaxCycles: (2n ** 64n - 1n) >> 2n,
  inspectIncCycles: 1n << 22n,
  inspectMaxCycles: (2n ** 64n - 1n) >> 2n,
  advanceIncDeadline: seconds(10),
  advanceMaxDeadline: seconds(180),
  inspectIncDeadline: seconds(10),
  inspectMaxDeadline: seconds(180),
  loadDeadline: seconds(300),
  storeDeadline: seconds(180),
  fastDeadline: seconds(5),
  maxConcurrentInspects: 10,
} as const

export const nanosecondsToMs = (ns: bigint): number => Number(ns / 1_000_000n)
export const msToNanoseconds = (ms: number): bigint => BigInt(Math.round(ms)) * 1_000_000n

export const applicationRecord = z.object({
  name: z.string(),
  iapplication_address: address,
  iconsensus_address: address,
  iinputbox_address: address.optional(),
  template_hash: hash.optional(),
  epoch_length: quantity,
  data_availability: hex.optional(),
  consensus_type: z.string().optional(),
  state: z.string().optional(),
  reason: z.string().nullable().optional(),
  iinputbox_block: quantity.optional(),
  last_epoch_check_block: quantity.optional(),
  last_input_check_block: quantity.optional(),
  last_output_check_block: quantity.optional(),
  last_tournament_check_block: quantity.optional(),
  processed_inputs: quantity.optional(),
  ...timestamps,
  /** Optional here so that an older node's answer still reads. */
  execution_parameters: executionParametersRecord.optional(),
})

/** The verdicts an inspect answer carries (a client keeps any other it meets as it is). */
export const inspectStatuses = ['Accepted', 'Rejected', 'Exception'] as const
export type InspectStatus = (typeof inspectStatuses)[number]

/** The answer of POST /inspect/<application>: the verdict and the reports the back end wrote. */
export const inspectResponse = z.object({
  status: z.string(),
  /** Present when the status is Exception; left out (or empty) otherwise. */
  exception: z.string().nullable().optional(),
  /** The real node may send null for none. */
  reports: z.array(z.object({ payload: hex })).nullable(),
  processed_input_count: z.number(),
})

/** What a record is on the wire, before parsing: what the dev node writes. */
export type Wire<T extends z.ZodType> = z.input<T>

export const wireInput = inputRecord.transform((w) => ({
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

export const wireOutput = outputRecord.transform((w) => ({
  index: w.index,
  epochIndex: w.epoch_index,
  inputIndex: w.input_index,
  rawData: w.raw_data,
  decoded: w.decoded_data ?? decodedOutputRecord.parse(decodeOutputData(w.raw_data)),
  hash: w.hash ?? null,
  /** The 63 siblings of the output in the outputs Merkle tree; null until its epoch is claimed. */
  siblings: w.output_hashes_siblings ?? null,
  executionTransactionHash: w.execution_transaction_hash ?? null,
}))
export type NodeOutput = z.output<typeof wireOutput>

export const wireReport = reportRecord.transform((w) => ({ index: w.index, epochIndex: w.epoch_index, inputIndex: w.input_index, payload: w.raw_data }))
export type NodeReport = z.output<typeof wireReport>

export const wireEpoch = epochRecord.transform((w) => ({
  index: w.index,
  firstBlock: w.first_block,
  lastBlock: w.last_block,
  status: w.status,
  /** The outputs Merkle root claimed for the epoch (`outputs_merkle_root`, or `claim_hash` from the dev node). */
  claimHash: w.outputs_merkle_root ?? w.claim_hash ?? null,
  claimTransactionHash: w.claim_transaction_hash ?? null,
}))
export type NodeEpoch = z.output<typeof wireEpoch>

export const wireApplication = applicationRecord.transform((w) => ({
  name: w.name,
  address: w.iapplication_address,
  consensus: w.iconsensus_address,
  inputBox: w.iinputbox_address,
  epochLength: w.epoch_length,
  processedInputs: w.processed_inputs,
  /** Past this much wall clock an advance ends as TIME_LIMIT_EXCEEDED (ms); unknown for an older node. */
  advanceMaxDeadlineMs: w.execution_parameters && nanosecondsToMs(w.execution_parameters.advance_max_deadline),
}))
export type NodeApplication = z.output<typeof wireApplication>

export const wirePagination = z
  .object({ total_count: z.number(), limit: z.number(), offset: z.number() })
  .transform((w) => ({ totalCount: w.total_count, limit: w.limit, offset: w.offset }))

/** A list answer (`{data, pagination}`) and a single one (`{data}`). */
export const listOf = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), pagination: wirePagination })
export const single = <T extends z.ZodType>(item: T) => z.object({ data: item })

export const wireInspectResult = inspectResponse.transform((w) => ({
  status: w.status,
  exception: w.exception || undefined,
  reports: w.reports ?? [],
  processedInputCount: w.processed_input_count,
}))

/** An application in params: its address (any letter case) or its name, such as `cartenix`. */
export const applicationName = z.union([z.string().regex(addressPattern), z.string().regex(/^[a-z0-9_-]{3,}$/)], { error: 'invalid application name' })

/** An index in params: an UnsignedInteger (0x and 1 to 16 hex digits), read as a number. */
export const indexParam = z
  .string()
  .regex(/^0[xX][0-9a-fA-F]{1,16}$/, 'expected hex encoded value')
  .transform((s) => Number.parseInt(s.slice(2), 16))

/** As the real node: a limit of 0 (or none) means 50, and at most 10000 rows come back. */
const paging = {
  limit: z.number().int().min(0).default(50).transform((n) => (n === 0 ? 50 : Math.min(n, 10_000))),
  offset: z.number().int().min(0).default(0),
  descending: z.boolean().default(false),
}
const ofApplication = { application: applicationName }
/** Clients send `[]` or `{}` (or nothing) to methods without parameters. */
const noParams = z.union([z.object({}), z.tuple([])]).optional()

/**
 * Every method the node serves: its parameters (what the dev node parses and a client sends) and
 * its result (what the dev node writes, as `z.input`, and a client reads, as `z.output`).
 */
export const nodeMethods = {
  cartesi_getNodeVersion: { params: noParams, result: single(z.string()) },
  cartesi_getChainId: { params: noParams, result: single(quantity) },
  cartesi_listApplications: { params: z.object(paging).default({ limit: 50, offset: 0, descending: false }), result: listOf(wireApplication) },
  cartesi_getApplication: { params: z.object(ofApplication), result: single(wireApplication) },
  cartesi_getProcessedInputCount: { params: z.object(ofApplication), result: single(quantity) },
  cartesi_listEpochs: { params: z.object({ ...ofApplication, status: z.enum(epochStatuses).optional(), ...paging }), result: listOf(wireEpoch) },
  cartesi_getEpoch: { params: z.object({ ...ofApplication, epoch_index: indexParam }), result: single(wireEpoch) },
  cartesi_listInputs: {
    params: z.object({ ...ofApplication, epoch_index: indexParam.optional(), sender: z.string().regex(addressPattern, 'an address').optional(), ...paging }),
    result: listOf(wireInput),
  },
  cartesi_getInput: { params: z.object({ ...ofApplication, input_index: indexParam }), result: single(wireInput) },
  cartesi_listOutputs: {
    params: z.object({
      ...ofApplication,
      epoch_index: indexParam.optional(),
      input_index: indexParam.optional(),
      /** A 4-byte selector: Notice, Voucher or DelegateCallVoucher. */
      output_type: z
        .string()
        .regex(/^(0x)?[0-9a-fA-F]{8}$/, 'expected exactly 4 bytes')
        .transform((t) => `0x${t.replace(/^0x/, '').toLowerCase()}`)
        .optional(),
      voucher_address: z.string().regex(addressPattern, 'an address').optional(),
      ...paging,
    }),
    result: listOf(wireOutput),
  },
  cartesi_getOutput: { params: z.object({ ...ofApplication, output_index: indexParam }), result: single(wireOutput) },
  cartesi_listReports: {
    params: z.object({ ...ofApplication, epoch_index: indexParam.optional(), input_index: indexParam.optional(), ...paging }),
    result: listOf(wireReport),
  },
  cartesi_getReport: { params: z.object({ ...ofApplication, report_index: indexParam }), result: single(wireReport) },
  /** The index of the newest epoch whose claim is accepted; not found while there is none. */
  cartesi_getLastAcceptedEpochIndex: { params: z.object(ofApplication), result: single(quantity) },
  // PRT's records (tournaments, commitments, matches): a node whose consensus is not PRT lists none.
  cartesi_listTournaments: { params: z.looseObject({ ...ofApplication, ...paging }), result: listOf(z.unknown()) },
  cartesi_getTournament: { params: z.looseObject(ofApplication), result: single(z.unknown()) },
  cartesi_listCommitments: { params: z.looseObject({ ...ofApplication, ...paging }), result: listOf(z.unknown()) },
  cartesi_getCommitment: { params: z.looseObject(ofApplication), result: single(z.unknown()) },
  cartesi_listMatches: { params: z.looseObject({ ...ofApplication, ...paging }), result: listOf(z.unknown()) },
  cartesi_getMatch: { params: z.looseObject(ofApplication), result: single(z.unknown()) },
  cartesi_listMatchAdvances: { params: z.looseObject({ ...ofApplication, ...paging }), result: listOf(z.unknown()) },
  cartesi_getMatchAdvanced: { params: z.looseObject(ofApplication), result: single(z.unknown()) },
  /** The node's description of its API (OpenRPC): here, the methods it serves by name. */
  'rpc.discover': {
    params: noParams,
    result: z.looseObject({ openrpc: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), methods: z.array(z.looseObject({ name: z.string() })) }),
  },
} as const satisfies Record<string, { params: z.ZodType; result: z.ZodType }>

export type NodeMethods = typeof nodeMethods
export type NodeMethod = keyof NodeMethods
/** What a client sends as a method's params. */
export type NodeParams<M extends NodeMethod> = z.input<NodeMethods[M]['params']>
/** A method's result as the node writes it. */
export type NodeResultWire<M extends NodeMethod> = z.input<NodeMethods[M]['result']>
/** A method's result as a client reads it: parsed, camelCase, bigints. */
export type NodeResult<M extends NodeMethod> = z.output<NodeMethods[M]['result']>

export const isNodeMethod = (name: string): name is NodeMethod => Object.hasOwn(nodeMethods, name)

/** A JSON-RPC 2.0 request and answer envelope. */
export const rpcRequest = z.object({ jsonrpc: z.literal('2.0'), id: z.union([z.string(), z.number(), z.null()]).optional(), method: z.string(), params: z.unknown().optional() })
export const rpcAnswer = z.object({
  jsonrpc: z.literal('2.0'),
  id: z.union([z.string(), z.number(), z.null()]).optional(),
  result: z.unknown().optional(),
  error: z.object({ code: z.number(), message: z.string() }).optional(),
})

/** JSON-RPC error codes the node answers with. */
export const rpcErrorCode = { parseError: -32700, invalidRequest: -32600, methodNotFound: -32601, invalidParams: -32602, internal: -32603, notFound: -32001 } as const
