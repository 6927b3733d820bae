/**
 * The upstream sources the machine carries (image/sources.lock.json), as the back end and the
 * tools read them: each by name and sha256, at the store path its fixed-output derivation has.
 * Fetching them onto a host is image/sources.ts's work.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { imageDir } from '../lib/paths.ts'
import { sha256Hex, storePathName } from '../protocol/primitives.ts'
import { fixedOutputPath, invalidPaths } from './store.ts'

export const lockedSource = z.object({
  /** The file name as Nix names it (the FOD's name), e.g. `hello-2.10.tar.gz`. */
  name: storePathName,
  sha256: sha256Hex,
  /** Where upstream publishes these exact bytes. */
  urls: z.array(z.string().url()).min(1),
  /** The Debian source package whose upstream tarball is the same file. */
  debian: z.object({ source: z.string(), version: z.string(), file: z.string() }),
})
export type LockedSource = z.infer<typeof lockedSource>

export const sourceLock = z.object({ sources: z.array(lockedSource).min(1) })

export const sourceLockPath = join(imageDir, 'sources.lock.json')

export async function readSourceLock(): Promise<LockedSource[]> {
  return sourceLock.parse(JSON.parse(await readFile(sourceLockPath, 'utf8'))).sources
}

export type SourceStatus = LockedSource & { storePath: string; present: boolean }

/** Each locked source with the store path its FOD has, and whether that path is in the store. */
export async function sourceStatus(sources?: readonly LockedSource[]): Promise<SourceStatus[]> {
  const list = sources ?? (await readSourceLock())
  const withPaths = await Promise.all(
    list.map(async (s) => ({ ...s, storePath: await fixedOutputPath({ name: s.name, sha256: s.sha256, mode: 'flat' }) })),
  )
  const invalid = await invalidPaths(withPaths.map((s) => s.storePath))
  return withPaths.map((s) => ({ ...s, present: !invalid.has(s.storePath) }))
}

