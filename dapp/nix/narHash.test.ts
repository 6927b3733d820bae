/** The NAR hash conversions of dapp/protocol/narHash.ts, held against Nix's own output. */
import { describe, expect, it } from 'vitest'
import { hexToNarHash, narHashToHex } from '../protocol/narHash.ts'
import { runNix } from './env.ts'
import { readSourceLock } from './sources.ts'

describe('NAR hash conversion against Nix', () => {
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

})
