/**
 * The rollups node v2 read API, served by the dev node: JSON-RPC at POST /rpc and inspect at
 * POST /inspect/<app>. Field names, 0x-hex numbers, pagination and error codes follow the real
 * node, so clients work unchanged against either. Every record is built as the wire type that
 * dapp/protocol/nodeApi.ts defines, the one the client library parses.
 */
import { Hono } from 'hono'
import { cors } from 'hono/cors'
import { z } from 'zod'
import { encodeFunctionData, type Hex } from 'viem'
import { dataAvailabilityAbi } from '../../contracts-client/abi/rollups.ts'
import { toQuantity as toHex } from '../../dapp/protocol/primitives.ts'
import {
  decodeOutputData, defaultExecutionParameters, isNodeMethod, msToNanoseconds, nodeMethods, rpcErrorCode, rpcRequest, type applicationRecord, type decodedOutputRecord, type epochRecord, type executionParametersRecord, type inputRecord, type inspectResponse,
  type NodeMethod, type NodeMethods, type NodeResultWire, type outputRecord, type reportRecord, type Wire,
} from '../../dapp/protocol/nodeApi.ts'
import { decodeEvmAdvance } from './evm-advance.ts'
import { InspectTimeoutError, type DevNode, type ExecutionLimits } from './node.ts'
import { type EpochRecord, type InputRecord, type NodeState, type OutputRecord, type ReportRecord } from './state.ts'

export const nodeVersion = 'cartenix-devnode-0.1.0'

class RpcError extends Error {
  constructor(readonly code: number, message: string) {
    super(message)
  }
}


/** v2's ExecutionParameters: what the dev node enforces, the real node's defaults for the rest (it counts no cycles). */
function executionParameters(limits: ExecutionLimits, since: string): Wire<typeof executionParametersRecord> {
  const d = defaultExecutionParameters
  return {
    snapshot_policy: d.snapshotPolicy,
    advance_inc_cycles: toHex(d.advanceIncCycles),
    advance_max_cycles: toHex(d.advanceMaxCycles),
    inspect_inc_cycles: toHex(d.inspectIncCycles),
    inspect_max_cycles: toHex(d.inspectMaxCycles),
    advance_inc_deadline: toHex(d.advanceIncDeadline),
    advance_max_deadline: toHex(msToNanoseconds(limits.advanceMaxDeadlineMs)),
    inspect_inc_deadline: toHex(d.inspectIncDeadline),
    inspect_max_deadline: toHex(msToNanoseconds(limits.inspectMaxDeadlineMs)),
    load_deadline: toHex(d.loadDeadline),
    store_deadline: toHex(d.storeDeadline),
    fast_deadline: toHex(d.fastDeadline),
    max_concurrent_inspects: limits.maxConcurrentInspects,
    created_at: since,
    updated_at: since,
  }
}

function application(node: DevNode): Wire<typeof applicationRecord> {
  const state = node.state
  const d = state.deployment
  const createdAt = state.epochs[0]?.createdAt ?? new Date(0).toISOString()
  const lastChecked = toHex(Math.max(state.nextBlock - 1, 0))
  return {
    name: state.applicationName,
    iapplication_address: d.application.toLowerCase(),
    iconsensus_address: d.consensus.toLowerCase(),
    iinputbox_address: d.inputBox.toLowerCase(),
    template_hash: d.templateHash,
    epoch_length: toHex(d.epochLength),
    data_availability: encodeFunctionData({ abi: dataAvailabilityAbi, functionName: 'InputBox', args: [d.inputBox] }),
    consensus_type: d.consensusType,
    state: 'ENABLED',
    reason: null,
    iinputbox_block: toHex(d.deploymentBlock),
    last_epoch_check_block: lastChecked,
    last_input_check_block: lastChecked,
    last_output_check_block: lastChecked,
    // No tournaments without PRT: nothing to check, as a v2 node on an Authority leaves it.
    last_tournament_check_block: '0x0',
    processed_inputs: toHex(node.processedInputCount),
    created_at: createdAt,
    updated_at: new Date().toISOString(),
    execution_parameters: executionParameters(node.executionLimits, createdAt),
  }
}

function input(record: InputRecord): Wire<typeof inputRecord> & { decoded_data: { sender: string } } {
  const { chainId, appContract, msgSender: sender, blockNumber, blockTimestamp, prevRandao, index, payload } = decodeEvmAdvance(record.rawData)
  return {
    epoch_index: toHex(record.epochIndex),
    index: toHex(record.index),
    block_number: toHex(record.blockNumber),
    raw_data: record.rawData,
    decoded_data: {
      chain_id: toHex(chainId),
      application_contract: appContract,
      sender,
      block_number: toHex(blockNumber),
      block_timestamp: toHex(blockTimestamp),
      prev_randao: toHex(prevRandao),
      index: toHex(index),
      payload,
    },
    status: record.status,
    machine_hash: null,
    outputs_hash: record.outputsHash,
    transaction_reference: record.transactionHash,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  }
}

function output(record: OutputRecord): Wire<typeof outputRecord> {
  return {
    epoch_index: toHex(record.epochIndex),
    input_index: toHex(record.inputIndex),
    index: toHex(record.index),
    raw_data: record.rawData,
    decoded_data: decodeOutputData(record.rawData),
    hash: record.hash,
    output_hashes_siblings: record.siblings,
    execution_transaction_hash: record.executionTransactionHash,
    created_at: record.createdAt,
    updated_at: record.createdAt,
  }
}

function report(record: ReportRecord): Wire<typeof reportRecord> {
  return {
    epoch_index: toHex(record.epochIndex),
    input_index: toHex(record.inputIndex),
    index: toHex(record.index),
    raw_data: record.rawData,
    created_at: record.createdAt,
    updated_at: record.createdAt,
  }
}

function epoch(record: EpochRecord, inputs: readonly InputRecord[]): Wire<typeof epochRecord> {
  const own = inputs.filter((i) => i.epochIndex === record.index).map((i) => i.index)
  const lower = own.length > 0 ? Math.min(...own) : inputs.filter((i) => i.epochIndex < record.index).length
  return {
    index: toHex(record.index),
    first_block: toHex(record.firstBlock),
    last_block: toHex(record.lastBlock),
    input_index_lower_bound: toHex(lower),
    input_index_upper_bound: toHex(lower + own.length),
    machine_hash: null,
    outputs_merkle_root: record.claimHash,
    claim_transaction_hash: record.claimTransactionHash,
    commitment: null,
    tournament_address: null,
    status: record.status,
    virtual_index: toHex(record.index),
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  }
}

function page<T, U>(items: readonly T[], params: { limit: number; offset: number; descending: boolean }, map: (item: T) => U) {
  const ordered = params.descending ? [...items].reverse() : items
  return {
    data: ordered.slice(params.offset, params.offset + params.limit).map(map),
    pagination: { total_count: items.length, limit: params.limit, offset: params.offset },
  }
}

function found<T>(item: T | undefined, what: string): { data: T } {
  if (item === undefined) throw new RpcError(rpcErrorCode.notFound, `${what} not found`)
  return { data: item }
}

/** How the dev node answers each method: from its parsed params to the result as the node writes it. */
type Answers = { [M in NodeMethod]: (node: DevNode, params: z.output<NodeMethods[M]['params']>) => NodeResultWire<M> }

const answers: Answers = {
  cartesi_getNodeVersion: () => ({ data: nodeVersion }),
  cartesi_getChainId: (node) => ({ data: toHex(node.state.deployment.chainId) }),
  cartesi_listApplications: (node, p) => page([node], p, application),
  cartesi_getApplication: (node) => ({ data: application(node) }),
  cartesi_getProcessedInputCount: (node) => ({ data: toHex(node.processedInputCount) }),
  cartesi_listEpochs: (node, p) => page(node.state.epochs.filter((e) => !p.status || e.status === p.status), p, (e) => epoch(e, node.state.inputs)),
  cartesi_getEpoch: (node, p) => {
    const record = node.state.epochs.find((e) => e.index === p.epoch_index)
    return found(record && epoch(record, node.state.inputs), 'Epoch')
  },
  cartesi_listInputs: (node, p) =>
    page(
      node.state.inputs
        .filter((i) => p.epoch_index === undefined || i.epochIndex === p.epoch_index)
        .map(input)
        .filter((i) => !p.sender || i.decoded_data.sender.toLowerCase() === p.sender.toLowerCase()),
      p,
      (i) => i,
    ),
  cartesi_getInput: (node, p) => {
    const record = node.state.inputs.find((i) => i.index === p.input_index)
    return found(record && input(record), 'Input')
  },
  cartesi_listOutputs: (node, p) =>
    page(
      node.state.outputs
        .filter((o) => (p.epoch_index === undefined || o.epochIndex === p.epoch_index) && (p.input_index === undefined || o.inputIndex === p.input_index))
        .filter((o) => !p.output_type || o.rawData.slice(0, 10).toLowerCase() === p.output_type.toLowerCase())
        .map(output)
        .filter((o) => !p.voucher_address || (o.decoded_data && 'destination' in o.decoded_data && o.decoded_data.destination.toLowerCase() === p.voucher_address.toLowerCase())),
      p,
      (o) => o,
    ),
  cartesi_getOutput: (node, p) => {
    const record = node.state.outputs[p.output_index]
    return found(record && output(record), 'Output')
  },
  cartesi_listReports: (node, p) =>
    page(
      node.state.reports.filter((r) => (p.epoch_index === undefined || r.epochIndex === p.epoch_index) && (p.input_index === undefined || r.inputIndex === p.input_index)),
      p,
      report,
    ),
  cartesi_getReport: (node, p) => {
    const record = node.state.reports[p.report_index]
    return found(record && report(record), 'Report')
  },
  cartesi_getLastAcceptedEpochIndex: (node) => {
    const accepted = node.state.epochs.filter((e) => e.status === 'CLAIM_ACCEPTED').at(-1)
    return found(accepted && toHex(accepted.index), 'Accepted epoch')
  },
  // The devnet's consensus is an Authority: no tournaments, commitments or matches.
  cartesi_listTournaments: (_node, p) => page([], p, (x) => x),
  cartesi_getTournament: () => found(undefined, 'Tournament'),
  cartesi_listCommitments: (_node, p) => page([], p, (x) => x),
  cartesi_getCommitment: () => found(undefined, 'Commitment'),
  cartesi_listMatches: (_node, p) => page([], p, (x) => x),
  cartesi_getMatch: () => found(undefined, 'Match'),
  cartesi_listMatchAdvances: (_node, p) => page([], p, (x) => x),
  cartesi_getMatchAdvanced: () => found(undefined, 'Match advance'),
  'rpc.discover': () => ({
    openrpc: '1.2.6',
    info: { title: 'Cartenix dev node: the rollups node v2 read API', version: nodeVersion },
    methods: Object.keys(nodeMethods).map((name) => ({ name })),
  }),
}

/** The application is known by name or by address (any letter case). */
function knowsApplication(node: DevNode, nameOrAddress: string): boolean {
  return nameOrAddress === node.state.applicationName || nameOrAddress.toLowerCase() === node.state.deployment.application.toLowerCase()
}

function call(node: DevNode, body: unknown): unknown {
  const parsed = rpcRequest.safeParse(body)
  if (!parsed.success) throw new RpcError(rpcErrorCode.invalidRequest, 'Invalid Request')
  const name = parsed.data.method
  if (!isNodeMethod(name)) throw new RpcError(rpcErrorCode.methodNotFound, 'Method not found')
  const params = nodeMethods[name].params.safeParse(parsed.data.params)
  if (!params.success) {
    throw new RpcError(rpcErrorCode.invalidParams, `Invalid parameters: ${params.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  }
  const appName = (params.data as { application?: string } | undefined)?.application
  if (appName !== undefined && !knowsApplication(node, appName)) throw new RpcError(rpcErrorCode.notFound, 'Application not found')
  return (answers[name] as (node: DevNode, params: unknown) => unknown)(node, params.data)
}

export function nodeApi(node: DevNode): Hono {
  const api = new Hono()
  // Read-only and public: a page served from any origin may call it (web/ is such a page).
  api.use('*', cors())
  api.post('/rpc', async (c) => {
    let body: unknown
    try {
      body = await c.req.json()
    } catch {
      // The real node answers a body that is not JSON with a plain-text 400.
      return c.text('Invalid JSON', 400)
    }
    const id = (body as { id?: unknown } | null)?.id ?? null
    // A state the chain no longer holds is never served.
    if (node.refusal) return c.json({ jsonrpc: '2.0', id, error: { code: rpcErrorCode.internal, message: node.refusal.message } })
    try {
      return c.json({ jsonrpc: '2.0', id, result: call(node, body) })
    } catch (error) {
      const code = error instanceof RpcError ? error.code : rpcErrorCode.internal
      return c.json({ jsonrpc: '2.0', id, error: { code, message: (error as Error).message } })
    }
  })
  api.post('/inspect/:application', async (c) => {
    if (!knowsApplication(node, c.req.param('application'))) return c.text('Application not found', 404)
    if (node.refusal) return c.text(node.refusal.message, 503)
    const payload = `0x${Buffer.from(await c.req.arrayBuffer()).toString('hex')}` as Hex
    let result
    try {
      result = await node.inspect(payload)
    } catch (error) {
      // Not the node's fault, nor the request's: 503, and when to ask again.
      if (error instanceof InspectTimeoutError) return c.text(error.message, 503, { 'Retry-After': '5' })
      throw error
    }
    const answer: Wire<typeof inspectResponse> = {
      status: result.status,
      ...(result.exception ? { exception: result.exception } : {}),
      reports: result.reports,
      processed_input_count: result.processedInputCount,
    }
    return c.json(answer)
  })
  return api
}
