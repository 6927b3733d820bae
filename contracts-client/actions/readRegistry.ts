import { BaseError, ContractFunctionRevertedError, type Address, type Client, type Hex } from 'viem'
import { readContract } from 'viem/actions'
import { cartenixRegistryAbi } from '../contracts/registryAbi.ts'

export type RegistryEntry = { system: string; outputs: { name: string; path: string; narHash: Hex; narSize: bigint }[] }

/**
 * What a CartenixRegistry records for a derivation, or undefined when it has no entry.
 *
 * @example
 * const entry = await readRegistry(publicClient, { registry, drvPath })
 * entry?.outputs[0].narHash
 */
export async function readRegistry(client: Client, parameters: { registry: Address; drvPath: string }): Promise<RegistryEntry | undefined> {
  try {
    const [system, outputs] = await readContract(client, { address: parameters.registry, abi: cartenixRegistryAbi, functionName: 'outputsOf', args: [parameters.drvPath] })
    return { system, outputs: [...outputs] }
  } catch (error) {
    const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined
    if (reverted instanceof ContractFunctionRevertedError && reverted.data?.errorName === 'UnknownDerivation') return undefined
    throw error
  }
}
