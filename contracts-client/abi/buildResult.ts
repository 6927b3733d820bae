/**
 * The one definition of what a Cartenix notice says. The back end encodes it, the client and any
 * contract decode it. In Solidity (the README publishes the same):
 *
 *   struct BuildOutput { string name; string path; bytes32 narHash; uint64 narSize; }
 *   struct BuildResult {
 *     uint8 version; bytes32 requestHash; uint64 inputIndex; string system;
 *     string drvPath; bool success; BuildOutput[] outputs;
 *   }
 *   // notice payload = abi.encode(result)
 *   // voucher payload = abi.encodeCall(ICartenixCallback.cartenixBuilt, (result))
 */
import { decodeAbiParameters, decodeFunctionData, encodeAbiParameters, encodeFunctionData, parseAbi, parseAbiParameters, type Hex } from 'viem'

export const buildResultVersion = 1

export const buildResultStruct =
  '(uint8 version, bytes32 requestHash, uint64 inputIndex, string system, string drvPath, bool success, (string name, string path, bytes32 narHash, uint64 narSize)[] outputs)'

export const buildResultParameters = parseAbiParameters(`${buildResultStruct} result`)

/** The function a callback contract implements to receive a proven build through a voucher. */
export const callbackAbi = parseAbi([`function cartenixBuilt(${buildResultStruct} result)`])

export type BuildOutput = {
  name: string
  path: string
  /** The raw 32 bytes of the output's NAR sha256. */
  narHash: Hex
  narSize: bigint
}

export type BuildResult = {
  version: number
  /** keccak256 of the whole input payload that asked for the build. */
  requestHash: Hex
  inputIndex: bigint
  system: string
  drvPath: string
  success: boolean
  outputs: readonly BuildOutput[]
}

export function encodeBuildResult(result: BuildResult): Hex {
  return encodeAbiParameters(buildResultParameters, [result])
}

export function decodeBuildResult(payload: Hex): BuildResult {
  const [result] = decodeAbiParameters(buildResultParameters, payload)
  return result
}

export function encodeCallback(result: BuildResult): Hex {
  return encodeFunctionData({ abi: callbackAbi, functionName: 'cartenixBuilt', args: [result] })
}

export function decodeCallback(payload: Hex): BuildResult {
  return decodeFunctionData({ abi: callbackAbi, data: payload }).args[0]
}
