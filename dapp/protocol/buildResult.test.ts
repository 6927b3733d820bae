import { describe, expect, it } from 'vitest'
import { encodeAbiParameters, keccak256, parseAbiParameters, toHex } from 'viem'
import { decodeBuildResult, decodeCallback, encodeBuildResult, encodeCallback, type BuildResult } from './buildResult.ts'

const hello = '/nix/store/p1ba4969viv0s3h4smk1qgwvkzkk5swl-hello-2.10'
const seed = '/nix/store/hlqawym1ccv9bnir41nyv9qw48vwf7nr-cartenix-seed-amd64'

const version1: BuildResult = {
  version: 1,
  requestHash: keccak256(toHex('{"attr":"hello"}')),
  inputIndex: 7n,
  system: 'x86_64-linux',
  drvPath: '/nix/store/396r6y5dj3jrvgaldsdnn6afylk74qrv-hello-2.10.drv',
  success: true,
  outputs: [{ name: 'out', path: hello, narHash: `0x${'ab'.repeat(32)}`, narSize: 123456n }],
}

const version2: BuildResult = {
  ...version1,
  version: 2,
  outputs: [{ ...version1.outputs[0]!, references: [seed, hello] }],
  closure: [{ path: seed, narHash: `0x${'cd'.repeat(32)}`, narSize: 227412328n, references: [] }],
}

describe('BuildResult', () => {
  it('survives an ABI round trip as a notice payload in both versions', () => {
    expect(decodeBuildResult(encodeBuildResult(version1))).toEqual(version1)
    expect(decodeBuildResult(encodeBuildResult(version2))).toEqual(version2)
  })

  it('decodes a version-1 notice as the version-1 back end encoded it (no references, no closure)', () => {
    const v1Layout = parseAbiParameters(
      '(uint8 version, bytes32 requestHash, uint64 inputIndex, string system, string drvPath, bool success, (string name, string path, bytes32 narHash, uint64 narSize)[] outputs) result',
    )
    const decoded = decodeBuildResult(encodeAbiParameters(v1Layout, [version1]))
    expect(decoded).toEqual(version1)
    expect(decoded.closure).toBeUndefined()
    expect(decoded.outputs[0]?.references).toBeUndefined()
  })

  it('refuses an unknown version and a payload too short to carry one', () => {
    const v3 = encodeBuildResult({ ...version2, version: 3 })
    expect(() => decodeBuildResult(v3)).toThrow(/Unknown BuildResult version 3/)
    expect(() => decodeBuildResult('0x1234')).toThrow(/at least 64 bytes/)
  })

  it('keeps the version-1 layout in the callback, so existing contracts still decode it', () => {
    expect(decodeCallback(encodeCallback(version1))).toEqual(version1)
    expect(decodeCallback(encodeCallback(version2))).toEqual(version1)
  })

  it('starts the callback with the selector of cartenixBuilt', () => {
    expect(encodeCallback(version2).slice(0, 10)).not.toBe(encodeBuildResult(version2).slice(0, 10))
    expect(() => decodeCallback(encodeBuildResult(version1))).toThrow()
  })
})
