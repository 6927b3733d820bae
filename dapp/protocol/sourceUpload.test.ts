import { bytesToHex, hexToBytes, size, toHex, zeroAddress } from 'viem'
import { describe, expect, it } from 'vitest'
import { decodeBuildResult } from './buildResult.ts'
import {
  chunkCount,
  chunkRange,
  decodeSourceAdded,
  decodeUploadChunk,
  encodeSourceAdded,
  encodeUploadChunk,
  isSourceAdded,
  isUploadPayload,
  isValidChunking,
  maxChunkBytes,
  maxPayloadBytes,
  uploadSelector,
} from './sourceUpload.ts'

describe('the upload wire format', () => {
  it('fills an input to the InputBox limit and no further, whatever the name', () => {
    for (const name of ['a', 'figlet-2.2.5.tar.gz', 'x'.repeat(32), 'y'.repeat(33), 'z'.repeat(211)]) {
      const data = bytesToHex(new Uint8Array(maxChunkBytes(name)).fill(0xff))
      const payload = encodeUploadChunk({ name, mode: 'flat', sha256: 'ab'.repeat(32), size: 10n ** 9n, index: 3, count: 9, data })
      expect(size(payload)).toBeLessThanOrEqual(maxPayloadBytes)
      expect(size(payload)).toBeGreaterThan(maxPayloadBytes - 32)
    }
  })

  it('decodes what it encodes, and is told apart from JSON requests', () => {
    const chunk = { name: 'figlet-2.2.5.tar.gz', mode: 'recursive' as const, sha256: 'cd'.repeat(32), size: 233_201n, index: 2, count: 4, data: toHex('bytes') }
    const payload = encodeUploadChunk(chunk)
    expect(isUploadPayload(payload)).toBe(true)
    expect(decodeUploadChunk(payload)).toEqual({ ...chunk, mode: 1 })
    expect(isUploadPayload(toHex('{"attr":"hello"}'))).toBe(false)
    // The selector is not UTF-8, so no JSON text begins with it.
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(hexToBytes(uploadSelector))).toThrow()
  })

  it('cuts a whole into chunks that cover it exactly, none empty', () => {
    for (const total of [1, 2, 64_000, 64_831, 64_832, 64_833, 233_201, 5_000_000]) {
      const count = chunkCount(total, 'figlet-2.2.5.tar.gz')
      expect(isValidChunking(total, count)).toBe(true)
      let next = 0
      for (let i = 0; i < count; i++) {
        const { start, end } = chunkRange(total, count, i)
        expect(start).toBe(next)
        expect(end - start).toBeGreaterThan(0)
        expect(end - start).toBeLessThanOrEqual(maxChunkBytes('figlet-2.2.5.tar.gz'))
        next = end
      }
      expect(next).toBe(total)
    }
    expect(isValidChunking(9, 4)).toBe(false)
    expect(isValidChunking(3, 4)).toBe(false)
  })
})

describe('the SourceAdded notice', () => {
  const notice = {
    requestHash: `0x${'11'.repeat(32)}` as const,
    inputIndex: 7n,
    uploader: zeroAddress,
    name: 'figlet-2.2.5.tar.gz',
    mode: 'flat' as const,
    sha256: 'bf88c40fd0f077dab2712f54f8d39ac952e4e9f2e1882f1195be9e5e4257417d',
    size: 233_201n,
    storePath: '/nix/store/nalmif6kdvcxqq4md0gn3gn7w0b3rp6d-figlet-2.2.5.tar.gz',
  }

  it('round-trips, and a BuildResult decoder refuses it by its first field', () => {
    const payload = encodeSourceAdded(notice)
    expect(isSourceAdded(payload)).toBe(true)
    expect(decodeSourceAdded(payload)).toEqual(notice)
    expect(() => decodeBuildResult(payload)).toThrow(/Unknown BuildResult version 128/)
  })
})
