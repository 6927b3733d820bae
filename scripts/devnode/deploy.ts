/**
 * Deploys the Cartesi Rollups v2.2.0 contracts from the npm artifacts: InputBox, EtherPortal, the
 * consensus and the Application. The consensus is an Authority (one owner who submits claims,
 * accepted at once) or a Quorum (a fixed set of validators; a claim is accepted once 1 + N/2 of
 * them submit the same root for the epoch).
 */
import { encodeFunctionData, zeroHash, type Abi, type Address, type Hex, type PublicClient, type WalletClient } from 'viem'
import { rollupsArtifacts } from '../../contracts-client/abi/artifacts.ts'
import { dataAvailabilityAbi } from '../../contracts-client/abi/rollups.ts'

export type RollupsDeployment = {
  inputBox: Address
  etherPortal: Address
  consensus: Address
  consensusType: 'AUTHORITY' | 'QUORUM'
  validators: Address[]
  application: Address
  /** Block of the InputBox deployment: where input scanning starts. */
  deploymentBlock: bigint
  epochLength: bigint
  templateHash: Hex
}

async function deploy(
  publicClient: PublicClient,
  walletClient: WalletClient,
  contract: { abi: Abi; bytecode: { object: Hex } },
  args: readonly unknown[],
): Promise<{ address: Address; blockNumber: bigint }> {
  const account = walletClient.account
  if (!account) throw new Error('The wallet client has no account to deploy with')
  const hash = await walletClient.deployContract({ abi: contract.abi, bytecode: contract.bytecode.object, args, account, chain: walletClient.chain })
  const receipt = await publicClient.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error(`Deployment transaction ${hash} failed`)
  return { address: receipt.contractAddress, blockNumber: receipt.blockNumber }
}

export async function deployRollups(
  publicClient: PublicClient,
  walletClient: WalletClient,
  options: { epochLength: bigint; templateHash?: Hex; validators?: readonly Address[] },
): Promise<RollupsDeployment> {
  const owner = walletClient.account?.address
  if (!owner) throw new Error('The wallet client has no account to deploy with')
  const inputBox = await deploy(publicClient, walletClient, rollupsArtifacts.InputBox, [])
  const etherPortal = await deploy(publicClient, walletClient, rollupsArtifacts.EtherPortal, [inputBox.address])
  const validators = [...(options.validators ?? [])]
  const consensus =
    validators.length > 0
      ? await deploy(publicClient, walletClient, rollupsArtifacts.Quorum, [validators, options.epochLength])
      : await deploy(publicClient, walletClient, rollupsArtifacts.Authority, [owner, options.epochLength])
  const templateHash = options.templateHash ?? zeroHash
  const dataAvailability = encodeFunctionData({ abi: dataAvailabilityAbi, functionName: 'InputBox', args: [inputBox.address] })
  const application = await deploy(publicClient, walletClient, rollupsArtifacts.Application, [consensus.address, owner, templateHash, dataAvailability])
  return {
    inputBox: inputBox.address,
    etherPortal: etherPortal.address,
    consensus: consensus.address,
    consensusType: validators.length > 0 ? 'QUORUM' : 'AUTHORITY',
    validators,
    application: application.address,
    deploymentBlock: inputBox.blockNumber,
    epochLength: options.epochLength,
    templateHash,
  }
}
