import type { Address } from 'viem'
import type { NodeClient } from '../node/client.ts'
import { withBuildResult, type CartenixOutput } from '../node/outputs.ts'
import { toQuantity } from '../../dapp/protocol/nodeApi.ts'

export type ListOutputsParameters = {
  application: Address | string
  inputIndex?: bigint
  epochIndex?: bigint
  limit?: number
  offset?: number
  /** Newest first. */
  descending?: boolean
}
export type ListOutputsReturnType = { outputs: CartenixOutput[]; totalCount: number }

/**
 * Lists outputs (notices, vouchers) with their proofs once claimed, decoding Cartenix notices.
 *
 * @example
 * const { outputs } = await listOutputs(node, { application: '0x…', inputIndex: 0n })
 * outputs[0].result?.drvPath // '/nix/store/…-hello-2.10.drv'
 */
export async function listOutputs(node: NodeClient, parameters: ListOutputsParameters): Promise<ListOutputsReturnType> {
  const { data, pagination } = await node.request(
    'cartesi_listOutputs',
    {
      application: parameters.application,
      ...(parameters.inputIndex !== undefined ? { input_index: toQuantity(parameters.inputIndex) } : {}),
      ...(parameters.epochIndex !== undefined ? { epoch_index: toQuantity(parameters.epochIndex) } : {}),
      limit: parameters.limit ?? 10_000,
      offset: parameters.offset ?? 0,
      ...(parameters.descending ? { descending: true } : {}),
    },
  )
  return { outputs: data.map(withBuildResult), totalCount: pagination.totalCount }
}
