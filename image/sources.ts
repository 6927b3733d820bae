/**
 * Puts the locked upstream sources into the host's store: downloaded from Debian's source
 * packages, checked against the lock's sha256, added as fixed-output paths.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { exec, CommandFailedError } from '../dapp/lib/exec.ts'
import { artefactsDir } from './host/artefacts.ts'
import { repoRoot } from '../dapp/lib/paths.ts'
import { addFixed, fixedOutputPath } from '../dapp/nix/store.ts'
import { readSourceLock, sourceStatus, type LockedSource, type SourceStatus } from '../dapp/nix/sources.ts'
import { HashMismatchError, sha256File } from './host/debs.ts'

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

/**
 * Adds a local file as the locked source: the bytes are hashed first and refused unless they match
 * the lock, so unverified bytes never enter the store. Returns the store path.
 */
export async function addSourceFile(source: LockedSource, file: string): Promise<string> {
  const actual = await sha256File(file)
  if (actual !== source.sha256) {
    throw new HashMismatchError({ what: `${source.name} (${file})`, expected: source.sha256, actual, hint: 'The file was not added to the store' })
  }
  // --add-fixed names the store path after the file, so the file must carry the Nix name. The
  // staging directory is this call's own: setups run side by side (validators started together,
  // each making its store) must not copy over or remove each other's file.
  const parent = join(repoRoot, '.cartenix', 'sources')
  await mkdir(parent, { recursive: true })
  const staging = await mkdtemp(join(parent, 'named-'))
  const named = join(staging, source.name)
  await copyFile(file, named)
  try {
    const storePath = await addFixed(named, 'flat')
    const expected = await fixedOutputPath({ name: source.name, sha256: source.sha256, mode: 'flat' })
    if (storePath !== expected) throw new Error(`nix-store --add-fixed gave ${storePath}, expected ${expected}`)
    return storePath
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

/** Downloads the upstream tarball that Debian's source package carries (`apt-get source`). */
export async function downloadFromDebian(source: LockedSource): Promise<string> {
  const dir = artefactsDir('sources', 'debian', `${source.debian.source}_${source.debian.version}`)
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
