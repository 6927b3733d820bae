import type { Address } from 'viem'
import type { NodeClient } from '../node/client.ts'
import type { NodeInput } from '../../dapp/protocol/nodeApi.ts'

export type ListInputsParameters = { application: Address | string; limit?: number; offset?: number; descending?: boolean }
export type ListInputsReturnType = { inputs: NodeInput[]; totalCount: number }

/**
 * One page of the application's inputs, oldest first unless `descending`.
 *
 * @example
 * const { inputs, totalCount } = await listInputs(node, { application: '0x…', limit: 10, descending: true })
 * inputs[0].status // 'ACCEPTED'
 */
export async function listInputs(node: NodeClient, parameters: ListInputsParameters): Promise<ListInputsReturnType> {
  const { data, pagination } = await node.request(
    'cartesi_listInputs',
    { application: parameters.application, limit: parameters.limit ?? 50, offset: parameters.offset ?? 0, descending: parameters.descending ?? false },
  )
  return { inputs: data, totalCount: pagination.totalCount }
}
