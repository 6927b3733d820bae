/**
 * The rollups node v2 read API, served by the dev node: JSON-RPC at POST /rpc and inspect at
 * POST /inspect/<app>. Field names, 0x-hex numbers, pagination and error codes follow the real
 * node, so clients work unchanged against either. Every record is built as the wire type that
 * dapp/protocol/nodeApi.ts defines, the one the client library parses.
 */
import { Hono } from 'hono'
import { cors } from 'hono/cors'
import { z } from 'zod'
import { decodeFunctionData, encodeFunctionData, type Hex } from 'viem'
import { dataAvailabilityAbi, inputsAbi, outputsAbi } from '../../contracts-client/abi/rollups.ts'
import { addressPattern } from '../../dapp/protocol/primitives.ts'
import {
  rpcErrorCode, type applicationRecord, type decodedOutputRecord, type epochRecord, type inputRecord, type inspectResponse, type outputRecord, type reportRecord, type Wire,
} from '../../dapp/protocol/nodeApi.ts'
import { InspectTimeoutError, type DevNode } from './node.ts'
import { epochStatus, type EpochRecord, type InputRecord, type NodeState, type OutputRecord, type ReportRecord } from './state.ts'

export const nodeVersion = 'cartenix-devnode-0.1.0'

class RpcError extends Error {
  constructor(readonly code: number, message: string) {
    super(message)
  }
}

const toHex = (n: number | bigint) => `0x${n.toString(16)}`
const hexIndex = z
  .string()
  .regex(/^0[xX][0-9a-fA-F]{1,16}$/, 'expected hex encoded value')
  .transform((s) => Number.parseInt(s.slice(2), 16))
/** As the real node: a limit of 0 (or none) means 50, and at most 10000 rows come back. */
const pagination = {
  limit: z.number().int().min(0).default(50).transform((n) => (n === 0 ? 50 : Math.min(n, 10_000))),
  offset: z.number().int().min(0).default(0),
  descending: z.boolean().default(false),
}

function application(state: NodeState, processedInputs: number): Wire<typeof applicationRecord> {
  const d = state.deployment
  const lastChecked = toHex(Math.max(state.nextBlock - 1, 0))
  return {
    name: state.applicationName,
    iapplication_address: d.application.toLowerCase(),
    iconsensus_address: d.authority.toLowerCase(),
    iinputbox_address: d.inputBox.toLowerCase(),
    template_hash: d.templateHash,
    epoch_length: toHex(d.epochLength),
    data_availability: encodeFunctionData({ abi: dataAvailabilityAbi, functionName: 'InputBox', args: [d.inputBox] }),
    consensus_type: 'AUTHORITY',
    state: 'ENABLED',
    reason: null,
    iinputbox_block: toHex(d.deploymentBlock),
    last_epoch_check_block: lastChecked,
    last_input_check_block: lastChecked,
    last_output_check_block: lastChecked,
    processed_inputs: toHex(processedInputs),
    created_at: state.epochs[0]?.createdAt ?? new Date(0).toISOString(),
    updated_at: new Date().toISOString(),
  }
}

function input(record: InputRecord): Wire<typeof inputRecord> & { decoded_data: { sender: string } } {
  const { args } = decodeFunctionData({ abi: inputsAbi, data: record.rawData })
  const [chainId, appContract, sender, blockNumber, blockTimestamp, prevRandao, index, payload] = args as [bigint, Hex, Hex, bigint, bigint, bigint, bigint, Hex]
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

function decodeOutput(rawData: Hex): Wire<typeof decodedOutputRecord> {
  const decoded = decodeFunctionData({ abi: outputsAbi, data: rawData })
  const { functionName } = decoded
  const args = (decoded.args ?? []) as readonly unknown[]
  switch (functionName) {
    case 'Notice':
      return { type: 'Notice', payload: args[0] as Hex }
    case 'Voucher':
      return { type: 'Voucher', destination: args[0] as Hex, value: toHex(args[1] as bigint), payload: args[2] as Hex }
    case 'DelegateCallVoucher':
      return { type: 'DelegateCallVoucher', destination: args[0] as Hex, payload: args[1] as Hex }
    default:
      throw new Error(`Unknown output type ${functionName}`)
  }
}

function output(record: OutputRecord): Wire<typeof outputRecord> {
  return {
    epoch_index: toHex(record.epochIndex),
    input_index: toHex(record.inputIndex),
    index: toHex(record.index),
    raw_data: record.rawData,
    decoded_data: decodeOutput(record.rawData),
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
    claim_hash: record.claimHash,
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

type Method = { params: z.ZodType; run: (node: DevNode, params: never) => unknown }

/** An application is named by its address (any letter case) or by a name like `cartenix`. */
const app = z.union([z.string().regex(addressPattern), z.string().regex(/^[a-z0-9_-]{3,}$/)], { error: 'invalid application name' })

const methods: Record<string, Method> = {
  cartesi_getNodeVersion: { params: z.object({}).optional(), run: () => ({ data: nodeVersion }) },
  cartesi_getChainId: { params: z.object({}).optional(), run: (node: DevNode) => ({ data: toHex(node.state.deployment.chainId) }) },
  cartesi_listApplications: {
    params: z.object(pagination).default({ limit: 50, offset: 0, descending: false }),
    run: (node: DevNode, params: { limit: number; offset: number; descending: boolean }) =>
      page([node.state], params, (s) => application(s, node.processedInputCount)),
  },
  cartesi_getApplication: {
    params: z.object({ application: app }),
    run: (node: DevNode) => ({ data: application(node.state, node.processedInputCount) }),
  },
  cartesi_getProcessedInputCount: {
    params: z.object({ application: app }),
    run: (node: DevNode) => ({ data: toHex(node.processedInputCount) }),
  },
  cartesi_listEpochs: {
    params: z.object({ application: app, status: epochStatus.optional(), ...pagination }),
    run: (node: DevNode, p: { status?: string; limit: number; offset: number; descending: boolean }) =>
      page(node.state.epochs.filter((e) => !p.status || e.status === p.status), p, (e) => epoch(e, node.state.inputs)),
  },
  cartesi_getEpoch: {
    params: z.object({ application: app, epoch_index: hexIndex }),
    run: (node: DevNode, p: { epoch_index: number }) => found(node.state.epochs.map((e) => epoch(e, node.state.inputs)).find((e) => e.index === toHex(p.epoch_index)), 'Epoch'),
  },
  cartesi_listInputs: {
    params: z.object({ application: app, epoch_index: hexIndex.optional(), sender: z.string().regex(addressPattern, 'an address').optional(), ...pagination }),
    run: (node: DevNode, p: { epoch_index?: number; sender?: string; limit: number; offset: number; descending: boolean }) =>
      page(
        node.state.inputs.filter((i) => p.epoch_index === undefined || i.epochIndex === p.epoch_index).map(input)
          .filter((i) => !p.sender || i.decoded_data.sender.toLowerCase() === p.sender.toLowerCase()),
        p,
        (i) => i,
      ),
  },
  cartesi_getInput: {
    params: z.object({ application: app, input_index: hexIndex }),
    run: (node: DevNode, p: { input_index: number }) => {
      const record = node.state.inputs.find((i) => i.index === p.input_index)
      return found(record && input(record), 'Input')
    },
  },
  cartesi_listOutputs: {
    params: z.object({
      application: app, epoch_index: hexIndex.optional(), input_index: hexIndex.optional(),
      output_type: z.string().regex(/^(0x)?[0-9a-fA-F]{8}$/, 'expected exactly 4 bytes').transform((t) => `0x${t.replace(/^0x/, '').toLowerCase()}`).optional(),
      voucher_address: z.string().regex(addressPattern, 'an address').optional(), ...pagination,
    }),
    run: (node: DevNode, p: { epoch_index?: number; input_index?: number; output_type?: string; voucher_address?: string; limit: number; offset: number; descending: boolean }) =>
      page(
        node.state.outputs
          .filter((o) => (p.epoch_index === undefined || o.epochIndex === p.epoch_index) && (p.input_index === undefined || o.inputIndex === p.input_index))
          .filter((o) => !p.output_type || o.rawData.slice(0, 10).toLowerCase() === p.output_type.toLowerCase())
          .map(output)
          .filter((o) => !p.voucher_address || ('destination' in o.decoded_data && o.decoded_data.destination?.toLowerCase() === p.voucher_address.toLowerCase())),
        p,
        (o) => o,
      ),
  },
  cartesi_getOutput: {
    params: z.object({ application: app, output_index: hexIndex }),
    run: (node: DevNode, p: { output_index: number }) => {
      const record = node.state.outputs[p.output_index]
      return found(record && output(record), 'Output')
    },
  },
  cartesi_listReports: {
    params: z.object({ application: app, epoch_index: hexIndex.optional(), input_index: hexIndex.optional(), ...pagination }),
    run: (node: DevNode, p: { epoch_index?: number; input_index?: number; limit: number; offset: number; descending: boolean }) =>
      page(
        node.state.reports.filter((r) => (p.epoch_index === undefined || r.epochIndex === p.epoch_index) && (p.input_index === undefined || r.inputIndex === p.input_index)),
        p,
        report,
      ),
  },
  cartesi_getReport: {
    params: z.object({ application: app, report_index: hexIndex }),
    run: (node: DevNode, p: { report_index: number }) => {
      const record = node.state.reports[p.report_index]
      return found(record && report(record), 'Report')
    },
  },
}

/** The application is known by name or by address (any letter case). */
function knowsApplication(node: DevNode, nameOrAddress: string): boolean {
  return nameOrAddress === node.state.applicationName || nameOrAddress.toLowerCase() === node.state.deployment.application.toLowerCase()
}

const rpcRequest = z.object({ jsonrpc: z.literal('2.0'), id: z.union([z.string(), z.number(), z.null()]).optional(), method: z.string(), params: z.unknown().optional() })

function call(node: DevNode, body: unknown): unknown {
  const parsed = rpcRequest.safeParse(body)
  if (!parsed.success) throw new RpcError(rpcErrorCode.invalidRequest, 'Invalid Request')
  const method = methods[parsed.data.method]
  if (!method) throw new RpcError(rpcErrorCode.methodNotFound, 'Method not found')
  const params = method.params.safeParse(parsed.data.params)
  if (!params.success) {
    throw new RpcError(rpcErrorCode.invalidParams, `Invalid parameters: ${params.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  }
  const appName = (params.data as { application?: string } | undefined)?.application
  if (appName !== undefined && !knowsApplication(node, appName)) throw new RpcError(rpcErrorCode.notFound, 'Application not found')
  return method.run(node, params.data as never)
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
    try {
      return c.json({ jsonrpc: '2.0', id, result: call(node, body) })
    } catch (error) {
      const code = error instanceof RpcError ? error.code : rpcErrorCode.internal
      return c.json({ jsonrpc: '2.0', id, error: { code, message: (error as Error).message } })
    }
  })
  api.post('/inspect/:application', async (c) => {
    if (!knowsApplication(node, c.req.param('application'))) return c.text('Application not found', 404)
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
      exception: result.exception ?? '',
      reports: result.reports,
      processed_input_count: result.processedInputCount,
    }
    return c.json(answer)
  })
  return api
}
