import { basename } from 'node:path'
import { hexToNarHash } from '../../dapp/protocol/narHash.ts'
import type { NarInfoSigner } from './signing.ts'

/** What the cache knows of a store path it may serve, from validated data only. */
export type CachePath = {
  path: string
  /** Raw sha256 of the NAR, 0x + 64 hex digits. */
  narHash: `0x${string}`
  narSize: bigint
  /** Full store paths. */
  references: readonly string[]
  /** The .drv that built it, when known. */
  deriver?: string
}

/** The hash part of a store path: the 32 base-32 characters before the first dash of its name. */
export function hashPart(storePath: string): string {
  return basename(storePath).slice(0, 32)
}

/**
 * What Nix signs and checks: `1;<path>;<narHash>;<narSize>;<references, comma-separated>`, the
 * NAR hash as `sha256:<nix32>` and the references as full paths in sorted order.
 */
export function fingerprint(entry: CachePath): string {
  const references = [...entry.references].sort().join(',')
  return `1;${entry.path};${hexToNarHash(entry.narHash)};${entry.narSize};${references}`
}

/** The `.narinfo` text for an uncompressed NAR at `url`, signed. */
export function renderNarInfo(entry: CachePath, url: string, signer: NarInfoSigner): string {
  const lines = [
    `StorePath: ${entry.path}`,
    `URL: ${url}`,
    'Compression: none',
    `NarHash: ${hexToNarHash(entry.narHash)}`,
    `NarSize: ${entry.narSize}`,
    `References: ${[...entry.references].sort().map((r) => basename(r)).join(' ')}`,
    ...(entry.deriver ? [`Deriver: ${basename(entry.deriver)}`] : []),
    `Sig: ${signer.sign(fingerprint(entry))}`,
  ]
  return `${lines.join('\n')}\n`
}
