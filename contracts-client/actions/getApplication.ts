import type { Address } from 'viem'
import type { NodeClient } from '../node/client.ts'
import type { NodeApplication } from '../../dapp/protocol/nodeApi.ts'

export type GetApplicationParameters = { application: Address | string }
export type GetApplicationReturnType = NodeApplication

/**
 * The application as the node knows it: name, address, consensus, InputBox and epoch length.
 *
 * @example
 * const { inputBox, epochLength } = await getApplication(node, { application: 'cartenix' })
 */
export async function getApplication(node: NodeClient, parameters: GetApplicationParameters): Promise<GetApplicationReturnType> {
  const { data } = await node.request('cartesi_getApplication', { application: parameters.application })
  return data
}
