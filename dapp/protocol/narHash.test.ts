import { describe, expect, it } from 'vitest'
import { runNix } from '../nix/env.ts'
import { hexToNarHash, narHashToHex, nix32ToBytes } from './narHash.ts'
import { readSourceLock } from '../nix/sources.ts'

describe('NAR hash conversion', () => {
  it('agrees with Nix on the locked sources (nix hash to-base32 / to-base16)', async () => {
    for (const source of await readSourceLock()) {
      const { stdout } = await runNix('nix', ['hash', 'to-base32', '--type', 'sha256', source.sha256])
      const nix32 = `sha256:${stdout.trim()}`
      expect(narHashToHex(nix32)).toBe(`0x${source.sha256}`)
      expect(hexToNarHash(`0x${source.sha256}`)).toBe(nix32)
    }
  })

  it('agrees with nix-store --query --hash of a real store path', async () => {
    const path = '/nix/store/3x7dwzq014bblazs7kq20p9hyzz0qh8g-hello-2.10.tar.gz'
    const { stdout: narHash } = await runNix('nix-store', ['--query', '--hash', path])
    const { stdout: base16 } = await runNix('nix', ['hash', 'to-base16', narHash.trim()])
    expect(narHashToHex(narHash.trim())).toBe(`0x${base16.trim()}`)
  })

  it('rejects what is not a sha256 in Nix base-32', () => {
    expect(() => narHashToHex('sha256:' + 'e'.repeat(52))).toThrow('Not a Nix base-32 character')
    expect(() => narHashToHex('md5:abc')).toThrow('Expected a NAR hash')
    expect(() => nix32ToBytes('z'.repeat(52))).toThrow('overflows')
    expect(() => hexToNarHash('0x1234')).toThrow('Expected 32 bytes')
  })
})
