import type { Address } from 'viem'
import type { NodeClient } from '../node/client.ts'
import { decodeReport, type DecodedReport } from '../../dapp/protocol/reports.ts'
import { toQuantity } from '../../dapp/protocol/nodeApi.ts'

export type ListReportsParameters = { application: Address | string; inputIndex: bigint }
export type ListReportsReturnType = DecodedReport[]

/**
 * The reports of one input, each with its JSON when it is JSON and its typed report when it is
 * one the back end writes (dapp/protocol/reports.ts).
 *
 * @example
 * const reports = await listReports(node, { application: '0x…', inputIndex: 1n })
 * reports[0].report // { type: 'rejected', reason: 'payload is not JSON: …' }
 */
export async function listReports(node: NodeClient, parameters: ListReportsParameters): Promise<ListReportsReturnType> {
  const { data } = await node.request(
    'cartesi_listReports',
    { application: parameters.application, input_index: toQuantity(parameters.inputIndex), limit: 10_000 },
  )
  return data.map((report) => decodeReport(report.payload))
}
