import { copyFile, mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { exec, CommandFailedError } from '../scripts/lib/exec.ts'
import { cacheDir } from '../scripts/lib/cache.ts'
import { imageDir, repoRoot } from '../dapp/nix/env.ts'
import { addFixed, fixedOutputPath, invalidPaths } from '../dapp/nix/store.ts'
import { HashMismatchError, sha256File } from './debs.ts'

export const lockedSource = z.object({
  /** The file name as Nix names it (the FOD's name), e.g. `hello-2.10.tar.gz`. */
  name: z.string().regex(/^[A-Za-z0-9+\-._?=][A-Za-z0-9+\-._?=]*$/, 'a valid store path name'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 as 64 lowercase hex digits'),
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

/** Debian no longer serves the pinned source version, or apt has no deb-src entry for it. */
export class SourceUnavailableError extends Error {
  override name = 'SourceUnavailableError' as const
  constructor(args: { source: LockedSource; cause: unknown }) {
    const { debian } = args.source
    super(
      `Cannot download ${args.source.name} from Debian source package ${debian.source} ${debian.version}. ` +
        `Run \`npm run setup\` (it adds the deb-src entry); if apt says the version is unknown, Debian has ` +
        `replaced it: pin the new version in image/sources.lock.json after checking its upstream tarball is unchanged.`,
      { cause: args.cause },
    )
  }
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

/**
 * Adds a local file as the locked source: the bytes are hashed first and refused unless they match
 * the lock, so unverified bytes never enter the store. Returns the store path.
 */
export async function addSourceFile(source: LockedSource, file: string): Promise<string> {
  const actual = await sha256File(file)
  if (actual !== source.sha256) {
    throw new HashMismatchError({ what: `${source.name} (${file})`, expected: source.sha256, actual, hint: 'The file was not added to the store' })
  }
  // --add-fixed names the store path after the file, so the file must carry the Nix name.
  const staging = join(repoRoot, '.cartenix', 'sources', 'named')
  await mkdir(staging, { recursive: true })
  const named = join(staging, source.name)
  await copyFile(file, named)
  try {
    const storePath = await addFixed(named, 'flat')
    const expected = await fixedOutputPath({ name: source.name, sha256: source.sha256, mode: 'flat' })
    if (storePath !== expected) throw new Error(`nix-store --add-fixed gave ${storePath}, expected ${expected}`)
    return storePath
  } finally {
    await rm(named, { force: true })
  }
}

/** Downloads the upstream tarball that Debian's source package carries (`apt-get source`). */
export async function downloadFromDebian(source: LockedSource): Promise<string> {
  const dir = cacheDir('sources', 'debian', `${source.debian.source}_${source.debian.version}`)
  await mkdir(dir, { recursive: true })
  const file = join(dir, source.debian.file)
  if ((await sha256File(file).catch(() => undefined)) === source.sha256) return file
  try {
    await exec('apt-get', ['source', '--download-only', '-qq', `${source.debian.source}=${source.debian.version}`], { cwd: dir })
  } catch (cause) {
    if (cause instanceof CommandFailedError) throw new SourceUnavailableError({ source, cause })
    throw cause
  }
  return file
}

/** Puts every locked source (or the named ones) in the store, verified; skips those present. */
export async function ensureSources(options: { names?: readonly string[]; log?: (line: string) => void } = {}): Promise<SourceStatus[]> {
  const all = await readSourceLock()
  const wanted = options.names ? all.filter((s) => options.names?.includes(s.name)) : all
  const unknown = options.names?.filter((name) => !all.some((s) => s.name === name)) ?? []
  if (unknown.length > 0) throw new Error(`Not in image/sources.lock.json: ${unknown.join(', ')}`)
  const status = await sourceStatus(wanted)
  for (const source of status.filter((s) => !s.present)) {
    options.log?.(`source ${source.name}: from Debian ${source.debian.source} ${source.debian.version}`)
    await addSourceFile(source, await downloadFromDebian(source))
    source.present = true
  }
  return status
}
