/**
 * Sources through the rollup: how a fixed-output source travels to the machine in chunks, and the
 * notice that says it arrived. The back end decodes what the client encodes here. In Solidity:
 *
 *   // input payload of one chunk (abi.encodeCall, so a contract can send chunks too)
 *   function cartenixUpload(string name, uint8 mode, bytes32 sha256, uint64 size, uint32 index, uint32 count, bytes data);
 *   // mode 0: flat (the file's sha256), 1: recursive (sha256 of the NAR serialisation; data is the NAR)
 *   // chunk i holds bytes [i*L, min(size, (i+1)*L)) of the whole, L = ceil(size / count); none is empty
 *
 *   // notice of the input that completed an upload (abi.encode); kind 128 tells it from a
 *   // BuildResult, whose first field (its version) is below 128
 *   struct SourceAdded {
 *     uint8 kind; bytes32 requestHash; uint64 inputIndex; address uploader;
 *     string name; uint8 mode; bytes32 sha256; uint64 size; string storePath;
 *   }
 *
 * The chunk's bytes ride raw in the ABI `bytes`: the envelope costs 4 + 9 * 32 bytes plus the
 * name, padded to 32, almost all zeros (4 gas a byte instead of 16).
 */
import * as z from 'zod'
import { decodeAbiParameters, decodeFunctionData, encodeAbiParameters, encodeFunctionData, hexToNumber, parseAbi, parseAbiParameters, size as byteSize, slice, toFunctionSelector, type Address, type Hex } from 'viem'

import { sha256Hex, storePathName, type SourceMode } from './primitives.ts'

export type { SourceMode }

/** The chunk's function, for encoders that need every field raw (a contract, a test of bad fields). */
export const uploadAbi = parseAbi(['function cartenixUpload(string name, uint8 mode, bytes32 sha256, uint64 size, uint32 index, uint32 count, bytes data)'])

/** The first four bytes of every chunk's payload. They are not valid UTF-8, so no JSON request starts with them. */
export const uploadSelector = toFunctionSelector(uploadAbi[0])

/** The largest input payload the InputBox takes (65536 bytes for the whole EvmAdvance). */
export const maxPayloadBytes = 65_216

export type UploadChunk = {
  /** The store path name, e.g. `figlet-2.2.5.tar.gz`. */
  name: string
  mode: SourceMode
  /** 64 lowercase hex digits. */
  sha256: string
  /** Bytes of the whole file (flat) or NAR (recursive). */
  size: bigint
  index: number
  count: number
  data: Hex
}

export function encodeUploadChunk(chunk: UploadChunk): Hex {
  return encodeFunctionData({
    abi: uploadAbi,
    functionName: 'cartenixUpload',
    args: [chunk.name, chunk.mode === 'recursive' ? 1 : 0, `0x${chunk.sha256}`, chunk.size, chunk.index, chunk.count, chunk.data],
  })
}

export function isUploadPayload(payload: Hex): boolean {
  return payload.slice(0, 10).toLowerCase() === uploadSelector
}

/** Decodes a chunk's payload; throws on anything that is not one (the caller reports why). */
export function decodeUploadChunk(payload: Hex): Omit<UploadChunk, 'mode'> & { mode: number } {
  const { args } = decodeFunctionData({ abi: uploadAbi, data: payload })
  const [name, mode, sha256, size, index, count, data] = args
  return { name, mode, sha256: sha256.slice(2).toLowerCase(), size, index, count, data }
}

/** The fields of a decoded chunk, checked: what the back end accepts before it looks at the upload. */
export const uploadChunkFields = z.object({
  name: storePathName,
  mode: z.union([z.literal(0), z.literal(1)], { error: 'mode must be 0 (flat) or 1 (recursive)' }).transform((m): SourceMode => (m === 1 ? 'recursive' : 'flat')),
  sha256: sha256Hex,
  size: z.bigint().min(1n, 'size must be at least 1 byte'),
  index: z.number().int().min(0),
  count: z.number().int().min(1, 'count must be at least 1'),
  data: z.string(),
})

/** Where chunk `index` of `count` lies in a whole of `size` bytes. */
export function chunkRange(size: number, count: number, index: number): { start: number; end: number } {
  const length = Math.ceil(size / count)
  return { start: index * length, end: Math.min(size, (index + 1) * length) }
}

/** Whether `count` chunks cut `size` bytes with none empty. */
export function isValidChunking(size: number, count: number): boolean {
  return count >= 1 && size >= 1 && count <= size && chunkRange(size, count, count - 1).start < size
}

/** The most data bytes one chunk of a source with this name can carry in one input. */
export function maxChunkBytes(name: string): number {
  const nameBytes = Math.ceil(new TextEncoder().encode(name).length / 32) * 32
  const envelope = 4 + 7 * 32 + (32 + nameBytes) + 32
  return Math.floor((maxPayloadBytes - envelope) / 32) * 32
}

/** How many chunks the client cuts a source into: as few as fit. */
export function chunkCount(size: number, name: string): number {
  return Math.max(1, Math.ceil(size / maxChunkBytes(name)))
}

export type SourceAdded = {
  requestHash: Hex
  inputIndex: bigint
  uploader: Address
  name: string
  mode: SourceMode
  sha256: string
  size: bigint
  storePath: string
}

export const sourceAddedKind = 128

const sourceAddedParameters = parseAbiParameters(
  '(uint8 kind, bytes32 requestHash, uint64 inputIndex, address uploader, string name, uint8 mode, bytes32 sha256, uint64 size, string storePath) notice',
)

export function encodeSourceAdded(notice: SourceAdded): Hex {
  return encodeAbiParameters(sourceAddedParameters, [
    { ...notice, kind: sourceAddedKind, mode: notice.mode === 'recursive' ? 1 : 0, sha256: `0x${notice.sha256}` },
  ])
}

/** Whether a notice payload is a SourceAdded (its first field, after the tuple's offset, is 128). */
export function isSourceAdded(payload: Hex): boolean {
  return byteSize(payload) >= 64 && hexToNumber(slice(payload, 32, 64)) === sourceAddedKind
}

export function decodeSourceAdded(payload: Hex): SourceAdded {
  if (!isSourceAdded(payload)) throw new Error('Not a SourceAdded notice (its first field is not 128)')
  const [{ kind: _kind, mode, sha256, ...rest }] = decodeAbiParameters(sourceAddedParameters, payload)
  return { ...rest, mode: mode === 1 ? 'recursive' : 'flat', sha256: sha256.slice(2) }
}
