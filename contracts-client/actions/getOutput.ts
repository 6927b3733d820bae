import type { Address } from 'viem'
import type { NodeClient } from '../node/client.ts'
import { withBuildResult, type CartenixOutput } from '../node/outputs.ts'
import { toQuantity } from '../../dapp/protocol/nodeApi.ts'

export type GetOutputParameters = { application: Address | string; outputIndex: bigint }
export type GetOutputReturnType = CartenixOutput

/**
 * One output by its global index, with its proof once its epoch is claimed.
 *
 * @example
 * const output = await getOutput(node, { application: '0x…', outputIndex: 0n })
 * output.siblings?.length // 63
 */
export async function getOutput(node: NodeClient, parameters: GetOutputParameters): Promise<GetOutputReturnType> {
  const { data } = await node.request(
    'cartesi_getOutput',
    { application: parameters.application, output_index: toQuantity(parameters.outputIndex) },
  )
  return withBuildResult(data)
}
