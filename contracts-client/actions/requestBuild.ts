import { keccak256, parseEventLogs, type Account, type Address, type Chain, type Hash, type Hex, type Transport, type Client } from 'viem'
import { waitForTransactionReceipt, writeContract } from 'viem/actions'
import { etherPortalAbi, inputBoxAbi } from '../abi/rollups.ts'
import { CartenixError } from '../../dapp/lib/errors.ts'
import { encodeBuildRequest, type BuildRequestJson } from '../../dapp/protocol/request.ts'

/** What to build: an attribute of the package set, or a Nix function of it; optionally a callback. */
export type BuildRequestInput = BuildRequestJson

export type RequestBuildParameters = {
  application: Address
  inputBox: Address
  request: BuildRequestInput
  /** Wei to send with the request, through EtherPortal.depositEther (needs `etherPortal`). */
  value?: bigint
  etherPortal?: Address
}

export type RequestBuildReturnType = {
  inputIndex: bigint
  /** keccak256 of the request bytes: the `requestHash` the notice will carry. */
  requestHash: Hex
  payload: Hex
  transactionHash: Hash
}

/**
 * Submits a build request as an input (InputBox.addInput, or EtherPortal.depositEther with a
 * value), waits for the transaction, and returns the input index from its InputAdded event.
 *
 * @example
 * const { inputIndex } = await requestBuild(walletClient, { application, inputBox, request: { attr: 'hello' } })
 */
export async function requestBuild(
  client: Client<Transport, Chain, Account>,
  parameters: RequestBuildParameters,
): Promise<RequestBuildReturnType> {
  const payload = encodeBuildRequest(parameters.request)
  const value = parameters.value ?? 0n
  let transactionHash: Hash
  if (value > 0n) {
    if (!parameters.etherPortal) throw new CartenixError('Sending Ether with a request needs the EtherPortal address (etherPortal)')
    transactionHash = await writeContract(client, {
      address: parameters.etherPortal,
      abi: etherPortalAbi,
      functionName: 'depositEther',
      args: [parameters.application, payload],
      value,
    })
  } else {
    transactionHash = await writeContract(client, {
      address: parameters.inputBox,
      abi: inputBoxAbi,
      functionName: 'addInput',
      args: [parameters.application, payload],
    })
  }
  const receipt = await waitForTransactionReceipt(client, { hash: transactionHash })
  if (receipt.status !== 'success') throw new CartenixError(`The request transaction ${transactionHash} reverted`)
  const added = parseEventLogs({ abi: inputBoxAbi, logs: receipt.logs, eventName: 'InputAdded' }).find(
    (log) => log.args.appContract.toLowerCase() === parameters.application.toLowerCase(),
  )
  if (!added) throw new CartenixError(`Transaction ${transactionHash} added no input for ${parameters.application}`)
  return { inputIndex: added.args.index, requestHash: keccak256(payload), payload, transactionHash }
}
