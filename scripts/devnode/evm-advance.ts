/** An input's raw data as the InputBox emitted it: `EvmAdvance(...)` calldata, decoded once. */
import { decodeFunctionData, type Address, type Hex } from 'viem'
import { inputsAbi } from '../../contracts-client/abi/rollups.ts'

export type EvmAdvance = {
  chainId: bigint
  appContract: Address
  msgSender: Address
  blockNumber: bigint
  blockTimestamp: bigint
  prevRandao: bigint
  index: bigint
  payload: Hex
}

export function decodeEvmAdvance(rawData: Hex): EvmAdvance {
  const { args } = decodeFunctionData({ abi: inputsAbi, data: rawData })
  const [chainId, appContract, msgSender, blockNumber, blockTimestamp, prevRandao, index, payload] = args
  return { chainId, appContract, msgSender, blockNumber, blockTimestamp, prevRandao, index, payload }
}
