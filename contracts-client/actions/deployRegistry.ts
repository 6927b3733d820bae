import type { Account, Address, Chain, Transport, WalletClient } from 'viem'
import { deployContract, waitForTransactionReceipt } from 'viem/actions'
import { compileContract } from '../contracts/compile.ts'
import { cartenixRegistryAbi } from '../contracts/registryAbi.ts'
import { CartenixError } from '../../dapp/lib/errors.ts'

/**
 * Compiles contracts/CartenixRegistry.sol and deploys it for one Cartenix application. Node only:
 * solc compiles the source here, so the deployed bytecode is the one built from it.
 *
 * @example
 * const { address } = await deployRegistry(walletClient, { application })
 * await requestBuild(walletClient, { application, inputBox, request: { attr: 'hello', callback: address } })
 */
export async function deployRegistry(client: WalletClient<Transport, Chain, Account>, parameters: { application: Address }): Promise<{ address: Address }> {
  const { bytecode } = await compileContract('CartenixRegistry')
  const hash = await deployContract(client, { abi: cartenixRegistryAbi, bytecode, args: [parameters.application] })
  const receipt = await waitForTransactionReceipt(client, { hash })
  if (receipt.status !== 'success' || !receipt.contractAddress) throw new CartenixError(`Registry deployment ${hash} failed`)
  return { address: receipt.contractAddress }
}
