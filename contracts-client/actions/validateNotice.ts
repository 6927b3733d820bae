import { BaseError, ContractFunctionRevertedError, type Address, type Client, type Hex } from 'viem'
import { readContract } from 'viem/actions'
import { applicationAbi } from '../abi/rollups.ts'
import { OutputNotProvenError } from '../errors/build.ts'

export type ValidateNoticeParameters = {
  application: Address
  /** The output as the node gives it: its raw bytes, index and siblings. */
  output: { index: bigint; rawData: Hex; siblings: readonly Hex[] | null }
}

export type ValidateNoticeReturnType = { valid: true } | { valid: false; reason: string }

const reasons: Record<string, string> = {
  InvalidOutputsMerkleRoot: 'the proof leads to an outputs Merkle root that no accepted claim holds (the output or its proof was changed, or its epoch is not claimed)',
  InvalidOutputHashesSiblingsArrayLength: 'the proof does not have 63 siblings',
}

/**
 * Asks the chain (Application.validateOutput) whether a claim accepted by the consensus holds this
 * output. Trusts neither the node nor the back end: only the proof and the contract.
 *
 * @example
 * const { valid } = await validateNotice(publicClient, { application, output: proven })
 */
export async function validateNotice(client: Client, parameters: ValidateNoticeParameters): Promise<ValidateNoticeReturnType> {
  const { output } = parameters
  if (!output.siblings) throw new OutputNotProvenError({ outputIndex: output.index })
  try {
    await readContract(client, {
      address: parameters.application,
      abi: applicationAbi,
      functionName: 'validateOutput',
      args: [output.rawData, { outputIndex: output.index, outputHashesSiblings: [...output.siblings] }],
    })
    return { valid: true }
  } catch (error) {
    const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined
    if (reverted instanceof ContractFunctionRevertedError) {
      const name = reverted.data?.errorName ?? 'unknown'
      return { valid: false, reason: `${name}: ${reasons[name] ?? reverted.shortMessage}` }
    }
    throw error
  }
}
