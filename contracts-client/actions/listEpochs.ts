import type { Address } from 'viem'
import type { NodeClient } from '../node/client.ts'
import type { NodeEpoch } from '../../dapp/protocol/nodeApi.ts'

export type ListEpochsParameters = { application: Address | string; limit?: number; offset?: number; descending?: boolean }
export type ListEpochsReturnType = { epochs: NodeEpoch[]; totalCount: number }

/**
 * One page of the application's epochs as the node sees them, oldest first unless `descending`:
 * each with its status and the outputs root the node computed (`claimHash`). What the chain
 * accepted, and who voted for what, is `listClaims`.
 *
 * @example
 * const { epochs } = await listEpochs(node, { application: '0x…', limit: 10, descending: true })
 * epochs[0].status // 'CLAIM_ACCEPTED'
 */
export async function listEpochs(node: NodeClient, parameters: ListEpochsParameters): Promise<ListEpochsReturnType> {
  const { data, pagination } = await node.request(
    'cartesi_listEpochs',
    { application: parameters.application, limit: parameters.limit ?? 50, offset: parameters.offset ?? 0, descending: parameters.descending ?? false },
  )
  return { epochs: data, totalCount: pagination.totalCount }
}
