/**
 * Pinned Debian packages, shared by every lock of the image: the seed's (image/seed), the VM's
 * kernel and busybox (image/vm/lock.json) and the machine's root file system
 * (image/rootfs/lock.json). A lock names each .deb by package, version, file under the mirror
 * and sha256; a .deb is fetched once into the artefacts directory (image/host/artefacts.ts) and
 * checked against its sha256 on every use.
 *
 * Locks are resolved with a private apt configuration (its own sources list, lists and empty
 * status file, under the artefacts directory), so apt resolves as for an empty system of the
 * lock's architecture and the host's apt is neither read nor changed.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { lstat, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { z } from 'zod'
import { sha256Hex } from '../../dapp/protocol/primitives.ts'
import { exec } from '../../dapp/lib/exec.ts'
import { privateAptOptions } from './apt.ts'
import { artefactsDir } from './artefacts.ts'


export const debPackage = z.object({
  package: z.string(),
  version: z.string(),
  /** Path of the .deb under the mirror, as in the Packages index. */
  filename: z.string(),
  sha256: sha256Hex,
  size: z.number().int().positive(),
})
export type DebPackage = z.infer<typeof debPackage>

/**
 * A lock of pinned .debs, as image/vm/lock.json and image/rootfs/lock.json write it: where the
 * packages come from, what was asked for, and every package exactly.
 */
export const debLock = z.object({
  arch: z.literal('riscv64'),
  suite: z.string(),
  mirror: z.string().url(),
  roots: z.array(z.string()).min(1),
  packages: z.array(debPackage).min(1),
})
export type DebLock = z.infer<typeof debLock>

/** Reads a lock; a missing one names the command that writes it. */
export async function readDebLock(path: string, refresh: LockRefresh): Promise<DebLock> {
  const text = await readFile(path, 'utf8').catch((cause: unknown) => {
    throw new Error(`No lock at ${path}: run \`${refresh.command}\``, { cause })
  })
  return debLock.parse(JSON.parse(text))
}

export async function writeDebLock(path: string, lock: DebLock): Promise<DebLock> {
  const checked = debLock.parse(lock)
  await writeFile(path, `${JSON.stringify(checked, null, 2)}\n`)
  return checked
}

/** Where a lock's packages come from. */
export type DebArchive = { arch: string; suite: string; mirror: string }

/** How to refresh a lock whose packages left the mirror: the command, and the file it rewrites. */
export type LockRefresh = { command: string; lockFile: string }

/** A pinned .deb is no longer on the mirror (Debian replaced it, e.g. with a security update). */
export class PinnedPackageGoneError extends Error {
  override name = 'PinnedPackageGoneError' as const
  constructor(args: { pkg: DebPackage; url: string; status: number; refresh: LockRefresh }) {
    super(
      `Pinned Debian package ${args.pkg.package} ${args.pkg.version} is gone from the mirror ` +
        `(HTTP ${args.status} for ${args.url}). Debian has replaced it; refresh the lock with:\n` +
        `  ${args.refresh.command}\n` +
        `and commit ${args.refresh.lockFile} (the template hash changes with it).`,
    )
  }
}

export class HashMismatchError extends Error {
  override name = 'HashMismatchError' as const
  constructor(args: { what: string; expected: string; actual: string; hint?: string }) {
    super(`sha256 mismatch for ${args.what}: expected ${args.expected}, got ${args.actual}${args.hint ? `. ${args.hint}` : ''}`)
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

const exists = (path: string) => lstat(path).then(() => true, () => false)

/** Downloads one pinned .deb into the artefacts directory (once) and checks its sha256 against the lock. */
export async function fetchPinnedDeb(archive: DebArchive, pkg: DebPackage, refresh: LockRefresh): Promise<string> {
  const dir = artefactsDir('debs', archive.arch)
  await mkdir(dir, { recursive: true })
  const path = join(dir, posix.basename(pkg.filename))
  if ((await exists(path)) && (await sha256File(path)) === pkg.sha256) return path
  const url = `${archive.mirror}/${pkg.filename}`
  const response = await fetch(url)
  if (response.status === 404 || response.status === 410) throw new PinnedPackageGoneError({ pkg, url, status: response.status, refresh })
  if (!response.ok) throw new Error(`Request failed with status ${response.status}: GET ${url}`)
  const bytes = Buffer.from(await response.arrayBuffer())
  const actual = createHash('sha256').update(bytes).digest('hex')
  if (actual !== pkg.sha256) throw new HashMismatchError({ what: url, expected: pkg.sha256, actual })
  await writeFile(`${path}.part`, bytes)
  await rename(`${path}.part`, path)
  return path
}

/** apt-get and apt-cache options for the private configuration of one archive, lists updated. */
export async function privateApt(archive: DebArchive): Promise<string[]> {
  const apt = await privateAptOptions({ root: artefactsDir('apt', `${archive.suite}-${archive.arch}`), ...archive })
  await exec('apt-get', [...apt, 'update', '-qq'])
  return apt
}

/** One field of a Debian control stanza (a Packages record, a dpkg status entry). */
export const controlField = (stanza: string, key: string): string | undefined => new RegExp(`^${key}: (.*)$`, 'm').exec(stanza)?.[1]

/** The exact record (version, file, sha256, size) of each named package, as the mirror has it today. */
export async function describeDebs(apt: readonly string[], arch: string, names: readonly string[]): Promise<DebPackage[]> {
  const packages: DebPackage[] = []
  for (const name of names) {
    const { stdout: record } = await exec('apt-cache', [...apt, 'show', '--no-all-versions', `${name}:${arch}`])
    const field = (key: string) => controlField(record, key)
    packages.push(debPackage.parse({ package: name, version: field('Version'), filename: field('Filename'), sha256: field('SHA256'), size: Number(field('Size')) }))
  }
  return packages.sort((a, b) => a.package.localeCompare(b.package))
}

/**
 * Resolves `roots` and their dependencies (no Recommends) to exact packages, as apt would install
 * them on an empty system of the archive's architecture.
 */
export async function resolveDebClosure(apt: readonly string[], arch: string, roots: readonly string[]): Promise<DebPackage[]> {
  const { stdout } = await exec('apt-get', [...apt, '--print-uris', '-o', 'APT::Install-Recommends=false', '-qq', 'install', ...roots])
  const names = stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const name = /^'[^']+' ([^_ ]+)_[^ ]+\.deb /.exec(line)?.[1]
      if (!name) throw new Error(`Unexpected line from apt-get --print-uris: ${line}`)
      return name
    })
  return describeDebs(apt, arch, names)
}

/** The packages the archive marks `Essential: yes`: what every Debian system has (mmdebstrap's essential variant). */
export async function essentialPackages(apt: readonly string[]): Promise<string[]> {
  const { stdout } = await exec('apt-cache', [...apt, 'dumpavail'])
  return [...new Set(stdout.split('\n\n').filter((s) => /^Essential: yes$/m.test(s)).map((s) => /^Package: (.*)$/m.exec(s)?.[1] ?? ''))].filter(Boolean).sort()
}
