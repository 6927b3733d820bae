import { describe, expect, it } from 'vitest'
import { keccak256, toHex } from 'viem'
import { decodeBuildResult, decodeCallback, encodeBuildResult, encodeCallback, type BuildResult } from './buildResult.ts'

const result: BuildResult = {
  version: 1,
  requestHash: keccak256(toHex('{"attr":"hello"}')),
  inputIndex: 7n,
  system: 'x86_64-linux',
  drvPath: '/nix/store/396r6y5dj3jrvgaldsdnn6afylk74qrv-hello-2.10.drv',
  success: true,
  outputs: [{ name: 'out', path: '/nix/store/p1ba4969viv0s3h4smk1qgwvkzkk5swl-hello-2.10', narHash: `0x${'ab'.repeat(32)}`, narSize: 123456n }],
}

describe('BuildResult', () => {
  it('survives an ABI round trip as a notice payload and as a callback', () => {
    expect(decodeBuildResult(encodeBuildResult(result))).toEqual(result)
    expect(decodeCallback(encodeCallback(result))).toEqual(result)
  })

  it('starts the callback with the selector of cartenixBuilt', () => {
    expect(encodeCallback(result).slice(0, 10)).not.toBe(encodeBuildResult(result).slice(0, 10))
    expect(() => decodeCallback(encodeBuildResult(result))).toThrow()
  })
})
