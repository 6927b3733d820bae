import type { NodeClient } from '../node/client.ts'
import type { NodeApplication } from '../../dapp/protocol/nodeApi.ts'

export type ListApplicationsParameters = { limit?: number; offset?: number }
export type ListApplicationsReturnType = { applications: NodeApplication[]; totalCount: number }

/**
 * One page of the applications the node runs, as getApplication describes each.
 *
 * @example
 * const { applications } = await listApplications(node, { limit: 1 })
 * applications[0]?.address
 */
export async function listApplications(node: NodeClient, parameters: ListApplicationsParameters = {}): Promise<ListApplicationsReturnType> {
  const { data, pagination } = await node.request('cartesi_listApplications', { limit: parameters.limit ?? 50, offset: parameters.offset ?? 0 })
  return { applications: data, totalCount: pagination.totalCount }
}
