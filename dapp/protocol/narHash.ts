/**
 * Nix's own base-32 (`sha256:<52 chars>`, as `nix-store --query --hash` prints it): a custom
 * alphabet without e, o, t, u, read from the last character. Notices carry the raw 32 bytes.
 */
import { bytesToHex, hexToBytes } from 'viem'

const alphabet = '0123456789abcdfghijklmnpqrsvwxyz'

export function nix32ToBytes(text: string, size = 32): Uint8Array {
  const expectedLength = Math.ceil((size * 8) / 5)
  if (text.length !== expectedLength) throw new Error(`A ${size}-byte Nix base-32 hash has ${expectedLength} characters, got ${text.length}`)
  const bytes = new Uint8Array(size)
  for (let n = 0; n < text.length; n++) {
    const digit = alphabet.indexOf(text[text.length - n - 1] ?? '')
    if (digit < 0) throw new Error(`Not a Nix base-32 character: "${text[text.length - n - 1]}" in ${text}`)
    const bit = n * 5
    const i = bit >> 3
    const j = bit & 7
    bytes[i] = (bytes[i] ?? 0) | ((digit << j) & 0xff)
    const carry = digit >> (8 - j)
    if (i + 1 < size) bytes[i + 1] = (bytes[i + 1] ?? 0) | carry
    else if (carry !== 0) throw new Error(`Nix base-32 hash overflows ${size} bytes: ${text}`)
  }
  return bytes
}

export function bytesToNix32(bytes: Uint8Array): string {
  const length = Math.ceil((bytes.length * 8) / 5)
  let text = ''
  for (let n = length - 1; n >= 0; n--) {
    const bit = n * 5
    const i = bit >> 3
    const j = bit & 7
    const value = ((bytes[i] ?? 0) >> j) | (i + 1 < bytes.length ? (bytes[i + 1] ?? 0) << (8 - j) : 0)
    text += alphabet[value & 0x1f]
  }
  return text
}

/** `sha256:<nix32>` (Nix's form) → `0x` + 64 hex digits (the notice's bytes32). */
export function narHashToHex(narHash: string): `0x${string}` {
  const match = /^sha256:([0-9a-z]{52})$/.exec(narHash)
  if (!match?.[1]) throw new Error(`Expected a NAR hash of the form sha256:<52 base-32 characters>, got "${narHash}"`)
  return bytesToHex(nix32ToBytes(match[1]))
}

/** `0x` + 64 hex digits → `sha256:<nix32>`, to compare with `nix-store --query --hash`. */
export function hexToNarHash(hex: string): string {
  const digits = hex.replace(/^0x/, '')
  if (!/^[0-9a-fA-F]{64}$/.test(digits)) throw new Error(`Expected 32 bytes as hex, got "${hex}"`)
  return `sha256:${bytesToNix32(hexToBytes(`0x${digits}`))}`
}
