import type { Address } from 'viem'
import type { DecodedReport } from '../errors/build.ts'
import type { NodeClient } from '../node/client.ts'
import { reportJson } from '../node/outputs.ts'
import { listOf, toQuantity, wireReport } from '../node/wire.ts'

export type ListReportsParameters = { application: Address | string; inputIndex: bigint }
export type ListReportsReturnType = DecodedReport[]

/**
 * The reports of one input, each with its JSON when it is JSON (the back end writes JSON).
 *
 * @example
 * const reports = await listReports(node, { application: '0x…', inputIndex: 1n })
 * reports[0].json // { type: 'rejected', reason: 'payload is not JSON: …' }
 */
export async function listReports(node: NodeClient, parameters: ListReportsParameters): Promise<ListReportsReturnType> {
  const { data } = await node.request(
    'cartesi_listReports',
    { application: parameters.application, input_index: toQuantity(parameters.inputIndex), limit: 10_000 },
    listOf(wireReport),
  )
  return data.map((report) => ({ payload: report.payload, json: reportJson(report.payload) }))
}
