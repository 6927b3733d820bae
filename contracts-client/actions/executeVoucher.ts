import { BaseError, ContractFunctionRevertedError, type Account, type Address, type Chain, type Hash, type Hex, type Transport, type Client } from 'viem'
import { readContract, simulateContract, waitForTransactionReceipt, writeContract } from 'viem/actions'
import { applicationAbi } from '../abi/rollups.ts'
import { CartenixError } from '../../dapp/lib/errors.ts'
import { NotAVoucherError, OutputNotProvenError, VoucherAlreadyExecutedError } from '../errors/build.ts'
import type { DecodedOutput } from '../../dapp/protocol/nodeApi.ts'

export type ExecuteVoucherParameters = {
  application: Address
  output: { index: bigint; rawData: Hex; siblings: readonly Hex[] | null; decoded: DecodedOutput; executionTransactionHash?: Hex | null }
}
export type ExecuteVoucherReturnType = { transactionHash: Hash }

/**
 * Executes a claimed voucher (Application.executeOutput). A voucher runs once: a second attempt
 * throws VoucherAlreadyExecutedError before any transaction is sent.
 *
 * @example
 * const voucher = (await waitForProof(node, { application, outputIndex: 1n }))
 * const { transactionHash } = await executeVoucher(walletClient, { application, output: voucher })
 */
export async function executeVoucher(
  client: Client<Transport, Chain, Account>,
  parameters: ExecuteVoucherParameters,
): Promise<ExecuteVoucherReturnType> {
  const { output, application } = parameters
  if (output.decoded.type === 'Notice') throw new NotAVoucherError({ outputIndex: output.index, type: output.decoded.type })
  if (!output.siblings) throw new OutputNotProvenError({ outputIndex: output.index })
  const executed = await readContract(client, { address: application, abi: applicationAbi, functionName: 'wasOutputExecuted', args: [output.index] })
  if (executed) throw new VoucherAlreadyExecutedError({ outputIndex: output.index, transactionHash: output.executionTransactionHash })
  const args = [output.rawData, { outputIndex: output.index, outputHashesSiblings: [...output.siblings] }] as const
  try {
    const { request } = await simulateContract(client, { address: application, abi: applicationAbi, functionName: 'executeOutput', args, account: client.account })
    const transactionHash = await writeContract(client, request)
    const receipt = await waitForTransactionReceipt(client, { hash: transactionHash })
    if (receipt.status !== 'success') throw new CartenixError(`executeOutput transaction ${transactionHash} reverted`)
    return { transactionHash }
  } catch (error) {
    const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined
    if (reverted instanceof ContractFunctionRevertedError && reverted.data?.errorName === 'OutputNotReexecutable') {
      throw new VoucherAlreadyExecutedError({ outputIndex: output.index })
    }
    if (reverted instanceof ContractFunctionRevertedError && reverted.data?.errorName === 'InvalidOutputsMerkleRoot') {
      throw new CartenixError(`The chain refused voucher ${output.index}: its bytes or proof lead to no accepted claim (InvalidOutputsMerkleRoot)`, { cause: error })
    }
    throw error
  }
}
