/**
 * The one definition of what a Cartenix notice says. The back end encodes it, the client and any
 * contract decode it. In Solidity (docs/requests-and-notices.md publishes the same):
 *
 *   // version 2 (what the back end emits)
 *   struct BuildOutput { string name; string path; bytes32 narHash; uint64 narSize; string[] references; }
 *   struct ClosurePath { string path; bytes32 narHash; uint64 narSize; string[] references; }
 *   struct BuildResult {
 *     uint8 version; bytes32 requestHash; uint64 inputIndex; string system;
 *     string drvPath; bool success; BuildOutput[] outputs; ClosurePath[] closure;
 *   }
 *   // version 1 (still decoded): BuildOutput without references, BuildResult without closure
 *   // notice payload = abi.encode(result)
 *   // voucher payload = abi.encodeCall(ICartenixCallback.cartenixBuilt, (result)), in the version-1 layout
 *
 * Version 2 carries what a Nix binary cache needs to describe each path (its references; the
 * deriver is drvPath), for the outputs and for every other path of their runtime closure: Nix
 * substitutes a path only once its references are valid, so a cache that serves only validated
 * paths needs each of them validated.
 */
import { decodeAbiParameters, decodeFunctionData, encodeAbiParameters, encodeFunctionData, hexToNumber, parseAbi, parseAbiParameters, size, slice, type Hex } from 'viem'

export const buildResultVersion = 2

const buildResultStructV1 =
  '(uint8 version, bytes32 requestHash, uint64 inputIndex, string system, string drvPath, bool success, (string name, string path, bytes32 narHash, uint64 narSize)[] outputs)'

const buildResultStructV2 =
  '(uint8 version, bytes32 requestHash, uint64 inputIndex, string system, string drvPath, bool success, (string name, string path, bytes32 narHash, uint64 narSize, string[] references)[] outputs, (string path, bytes32 narHash, uint64 narSize, string[] references)[] closure)'

/** The layout of the callback's argument: version 1, which contracts (the registry) implement. */
export const buildResultStruct = buildResultStructV1

const parametersV1 = parseAbiParameters(`${buildResultStructV1} result`)
const parametersV2 = parseAbiParameters(`${buildResultStructV2} result`)

/** The function a callback contract implements to receive a proven build through a voucher. */
export const callbackAbi = parseAbi([`function cartenixBuilt(${buildResultStruct} result)`])

export type BuildOutput = {
  name: string
  path: string
  /** The raw 32 bytes of the output's NAR sha256. */
  narHash: Hex
  narSize: bigint
  /** Full store paths the output refers to (itself included when it does); version 2 only. */
  references?: readonly string[]
}

/** A path of the outputs' runtime closure that is not an output itself (version 2). */
export type ClosurePath = {
  path: string
  narHash: Hex
  narSize: bigint
  references: readonly string[]
}

export type BuildResult = {
  version: number
  /** keccak256 of the request's bytes (requestBytes: the input payload, less the sender and value an EtherPortal deposit puts first). */
  requestHash: Hex
  inputIndex: bigint
  system: string
  drvPath: string
  success: boolean
  outputs: readonly BuildOutput[]
  /** Version 2: every other path the outputs need at run time, sorted by path. */
  closure?: readonly ClosurePath[]
}

function asVersion1(result: BuildResult) {
  return { ...result, version: 1, outputs: result.outputs.map(({ name, path, narHash, narSize }) => ({ name, path, narHash, narSize })) }
}

export function encodeBuildResult(result: BuildResult): Hex {
  if (result.version === 1) return encodeAbiParameters(parametersV1, [asVersion1(result)])
  const outputs = result.outputs.map((o) => ({ ...o, references: o.references ?? [] }))
  return encodeAbiParameters(parametersV2, [{ ...result, outputs, closure: result.closure ?? [] }])
}

/**
 * Decodes a notice payload of either version. The version is the tuple's first word (after the
 * offset to the tuple), so it is read before the layout is chosen.
 */
export function decodeBuildResult(payload: Hex): BuildResult {
  if (size(payload) < 64) throw new Error(`A BuildResult is at least 64 bytes, got ${size(payload)}`)
  const version = hexToNumber(slice(payload, 32, 64))
  switch (version) {
    case 1:
      return decodeAbiParameters(parametersV1, payload)[0]
    case 2: {
      const [result] = decodeAbiParameters(parametersV2, payload)
      return result
    }
    default:
      throw new Error(`Unknown BuildResult version ${version} (this client reads 1 and 2)`)
  }
}

/** The callback keeps the version-1 layout: existing contracts need no references. */
export function encodeCallback(result: BuildResult): Hex {
  return encodeFunctionData({ abi: callbackAbi, functionName: 'cartenixBuilt', args: [asVersion1(result)] })
}

export function decodeCallback(payload: Hex): BuildResult {
  return decodeFunctionData({ abi: callbackAbi, data: payload }).args[0]
}
