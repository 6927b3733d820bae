import { describe, expect, it } from 'vitest'
import { hexToNarHash, narHashToHex, nix32ToBytes } from './narHash.ts'

describe('NAR hash conversion', () => {
  it('rejects what is not a sha256 in Nix base-32', () => {
    expect(() => narHashToHex('sha256:' + 'e'.repeat(52))).toThrow('Not a Nix base-32 character')
    expect(() => narHashToHex('md5:abc')).toThrow('Expected a NAR hash')
    expect(() => nix32ToBytes('z'.repeat(52))).toThrow('overflows')
    expect(() => hexToNarHash('0x1234')).toThrow('Expected 32 bytes')
  })
})
