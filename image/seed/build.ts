import { chmod, copyFile, lstat, mkdir, readdir, readlink, rename, rm, symlink, unlink } from 'node:fs/promises'
import { join, posix, relative } from 'node:path'
import { exec } from '../../dapp/lib/exec.ts'
import { artefactsDir } from '../host/artefacts.ts'
import { addFixed } from '../../dapp/nix/store.ts'
import { alternatives, prunedDirectories, type SeedRecipe } from './recipe.ts'
import { seedLockRefresh, type SeedLock } from './lock.ts'
import { fetchPinnedDeb, HashMismatchError, sha256File } from '../host/debs.ts'

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false)
}

export function workDir(arch: string): string {
  return artefactsDir('seed', arch)
}

/** Moves everything under `from` into `to`, merging directories that exist on both sides. */
async function mergeInto(from: string, to: string, root = from): Promise<void> {
  await mkdir(to, { recursive: true })
  for (const entry of await readdir(from)) {
    const source = join(from, entry)
    const target = join(to, entry)
    const sourceIsDir = (await lstat(source)).isDirectory()
    if (sourceIsDir && (await exists(target)) && (await lstat(target)).isDirectory()) {
      await mergeInto(source, target, root)
    } else if (await exists(target)) {
      throw new Error(`Seed merge conflict: ${relative(root, source)} exists both under /${relative(join(root, '..'), root)} and under /usr`)
    } else {
      await rename(source, target)
    }
  }
  await rm(from, { recursive: true })
}

const mergedTopDirs = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'] as const

/** Maps an absolute path of the Debian tree to where it lives after the /usr merge. */
function merged(absolute: string): string {
  const top = absolute.split('/')[1]
  return mergedTopDirs.some((d) => d === top) ? `/usr${absolute}` : absolute
}

async function* walk(dir: string): AsyncGenerator<string> {
  for (const entry of (await readdir(dir)).sort()) {
    const path = join(dir, entry)
    yield path
    const info = await lstat(path)
    if (info.isDirectory()) yield* walk(path)
  }
}

/**
 * Lays the unpacked packages out as one merged-/usr tree that no longer refers outside itself:
 * `/bin`, `/lib`, ... become links into `usr/`, absolute symlinks become relative ones.
 */
async function normalizeTree(stage: string): Promise<void> {
  for (const dir of mergedTopDirs) {
    const top = join(stage, dir)
    if (!(await exists(top))) continue
    // Newer suites (trixie) ship /bin -> usr/bin themselves: already merged.
    if ((await lstat(top)).isSymbolicLink()) await unlink(top)
    else await mergeInto(top, join(stage, 'usr', dir))
  }
  for (const dir of prunedDirectories) await rm(join(stage, dir), { recursive: true, force: true })
  // Only usr/ matters to a build; the rest of base-files' skeleton (etc, var, boot, ...) is dropped.
  for (const entry of await readdir(stage)) {
    if (entry !== 'usr') await rm(join(stage, entry), { recursive: true, force: true })
  }
  for await (const path of walk(stage)) {
    const info = await lstat(path)
    if (!info.isSymbolicLink()) continue
    const target = await readlink(path)
    if (!target.startsWith('/')) continue
    const from = posix.dirname(merged(`/${relative(stage, path)}`))
    await unlink(path)
    await symlink(posix.relative(from, merged(target)) || '.', path)
  }
  for (const dir of mergedTopDirs) {
    if (await exists(join(stage, 'usr', dir))) await symlink(`usr/${dir}`, join(stage, dir))
  }
  for (const [link, target] of Object.entries(alternatives)) {
    if (!(await exists(join(stage, link)))) await symlink(target, join(stage, link))
  }
}

export type SeedArtifacts = { tarball: string; tarballSha256: string; busyboxDir: string }

/**
 * Builds the seed tarball from the pinned packages: unpacked, merged, pruned, and archived with
 * sorted names, mtime 0 and owner 0, so the same lock gives the same bytes.
 */
export async function assembleSeed(recipe: SeedRecipe, lock: SeedLock, log: (line: string) => void): Promise<SeedArtifacts> {
  const dir = workDir(recipe.arch)
  const stage = join(dir, 'stage')
  await rm(stage, { recursive: true, force: true })
  await mkdir(stage, { recursive: true })
  log(`seed ${recipe.arch}: fetching ${lock.packages.length} pinned packages`)
  for (const pkg of lock.packages) {
    const deb = await fetchPinnedDeb(lock, pkg, seedLockRefresh(lock.arch))
    await exec('dpkg-deb', ['--extract', deb, stage])
  }
  const busyboxInDeb = (await exists(join(stage, 'bin/busybox'))) ? 'bin/busybox' : 'usr/bin/busybox'
  const busyboxDir = join(dir, lock.outputs.busybox.name)
  await rm(busyboxDir, { recursive: true, force: true })
  await mkdir(join(busyboxDir, 'bin'), { recursive: true })
  await copyFile(join(stage, busyboxInDeb), join(busyboxDir, 'bin/busybox'))
  await chmod(join(busyboxDir, 'bin/busybox'), 0o555)
  // Nix runs a builder as its store path; Debian's busybox picks its applet from argv[0].
  await symlink('busybox', join(busyboxDir, 'bin/sh'))

  await normalizeTree(stage)
  const tarball = join(dir, lock.outputs.tarball.name)
  log(`seed ${recipe.arch}: archiving`)
  await exec('bash', [
    '-o', 'pipefail', '-c',
    'tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -C "$1" -cf - . | gzip -n -6 > "$2"',
    'tar', stage, tarball,
  ])
  await rm(stage, { recursive: true, force: true })
  return { tarball, tarballSha256: await sha256File(tarball), busyboxDir }
}

/** Adds the seed's two FODs to the store; the tarball must have the hash the lock records. */
export async function addSeedToStore(lock: SeedLock, artifacts: SeedArtifacts): Promise<{ tarball: string; busybox: string }> {
  if (artifacts.tarballSha256 !== lock.outputs.tarball.sha256) {
    throw new HashMismatchError({
      what: `seed tarball ${lock.outputs.tarball.name}`,
      expected: lock.outputs.tarball.sha256,
      actual: artifacts.tarballSha256,
      hint: `The recipe did not reproduce the locked seed; nothing was added. If the recipe changed on purpose, run \`npm run seed -- lock --arch ${lock.arch}\``,
    })
  }
  const busybox = await addFixed(artifacts.busyboxDir, 'recursive')
  const tarball = await addFixed(artifacts.tarball, 'flat')
  return { tarball, busybox }
}

