import type { Address } from 'viem'
import type { NodeClient } from '../node/client.ts'
import { toQuantity, type NodeInput } from '../../dapp/protocol/nodeApi.ts'

export type GetInputParameters = { application: Address | string; inputIndex: bigint }
export type GetInputReturnType = NodeInput

/**
 * One input as the node knows it: status, block, sender, payload.
 *
 * @example
 * const input = await getInput(node, { application: '0x…', inputIndex: 0n })
 * input.status // 'ACCEPTED'
 */
export async function getInput(node: NodeClient, parameters: GetInputParameters): Promise<GetInputReturnType> {
  const { data } = await node.request(
    'cartesi_getInput',
    { application: parameters.application, input_index: toQuantity(parameters.inputIndex) },
  )
  return data
}
