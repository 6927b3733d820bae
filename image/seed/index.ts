import { fixedOutputPath, invalidPaths, narHash, toHex, addFixed } from '../../dapp/nix/store.ts'
import { seedRecipe, type SeedArch } from './recipe.ts'
import { readSeedLock, resolveSeedPackages, writeSeedLock, type SeedLock } from './lock.ts'
import { join } from 'node:path'
import { lstat } from 'node:fs/promises'
import { addSeedToStore, assembleSeed, workDir, type SeedArtifacts } from './build.ts'
import { HashMismatchError, sha256File } from '../host/debs.ts'

export type SeedStorePaths = { tarball: string; busybox: string }

/** The store paths the package set expects for this seed lock (they follow from names and hashes). */
export async function seedStorePaths(lock: SeedLock): Promise<SeedStorePaths> {
  return {
    tarball: await fixedOutputPath({ name: lock.outputs.tarball.name, sha256: lock.outputs.tarball.sha256, mode: 'flat' }),
    busybox: await fixedOutputPath({ name: lock.outputs.busybox.name, sha256: lock.outputs.busybox.narSha256, mode: 'recursive' }),
  }
}

/**
 * The seed a previous run assembled (kept in the artefacts directory, by default
 * /var/cache/cartenix/seed/<arch>: image/host/artefacts.ts), when its tarball still has the hash
 * the lock records: adding it to another store (a fresh one, a replay's) then takes seconds
 * instead of a minute. The busybox directory is checked when it is added.
 */
async function assembledSeed(lock: SeedLock): Promise<SeedArtifacts | undefined> {
  const dir = workDir(lock.arch)
  const tarball = join(dir, lock.outputs.tarball.name)
  const busyboxDir = join(dir, lock.outputs.busybox.name)
  const tarballSha256 = await sha256File(tarball).catch(() => undefined)
  if (tarballSha256 !== lock.outputs.tarball.sha256) return undefined
  if (!(await lstat(join(busyboxDir, 'bin', 'busybox')).then(() => true, () => false))) return undefined
  return { tarball, tarballSha256, busyboxDir }
}

/**
 * Makes sure the seed of this architecture is in the store, building it from the pinned packages
 * if not. Cheap when it is already there.
 */
export async function ensureSeed(arch: SeedArch, log: (line: string) => void = () => {}): Promise<SeedStorePaths> {
  const lock = await readSeedLock(arch)
  const expected = await seedStorePaths(lock)
  const missing = await invalidPaths([expected.tarball, expected.busybox])
  if (missing.size === 0) return expected
  const artifacts = (await assembledSeed(lock)) ?? (await assembleSeed(seedRecipe(arch), lock, log))
  const added = await addSeedToStore(lock, artifacts)
  if (added.busybox !== expected.busybox) {
    throw new HashMismatchError({
      what: `seed busybox (${added.busybox})`,
      expected: expected.busybox,
      actual: added.busybox,
      hint: 'The pinned busybox-static did not give the locked directory',
    })
  }
  return added
}

/**
 * Re-resolves the seed's packages against the mirror as it is today, rebuilds the seed, and
 * records the new versions and hashes in image/seed/<arch>.lock.json.
 */
export async function refreshSeedLock(arch: SeedArch, log: (line: string) => void = () => {}): Promise<SeedLock> {
  const recipe = seedRecipe(arch)
  log(`seed ${arch}: resolving ${recipe.roots.length} root packages in ${recipe.suite}`)
  const packages = await resolveSeedPackages(recipe)
  const draft: SeedLock = {
    arch,
    suite: recipe.suite,
    mirror: recipe.mirror,
    roots: [...recipe.roots],
    packages,
    outputs: {
      tarball: { name: `cartenix-seed-${arch}.tar.gz`, sha256: '0'.repeat(64) },
      busybox: { name: `cartenix-seed-busybox-${arch}`, narSha256: '0'.repeat(64) },
    },
  }
  const artifacts = await assembleSeed(recipe, draft, log)
  const busybox = await addFixed(artifacts.busyboxDir, 'recursive')
  const lock: SeedLock = {
    ...draft,
    outputs: {
      tarball: { ...draft.outputs.tarball, sha256: artifacts.tarballSha256 },
      busybox: { ...draft.outputs.busybox, narSha256: await toHex(await narHash(busybox)) },
    },
  }
  await writeSeedLock(lock)
  await addSeedToStore(lock, artifacts)
  return lock
}
