import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { imageDir } from '../../dapp/lib/paths.ts'
import { sha256Hex } from '../../dapp/protocol/primitives.ts'
import { debPackage, privateApt, resolveDebClosure, type DebPackage, type LockRefresh } from '../host/debs.ts'
import type { SeedArch, SeedRecipe } from './recipe.ts'


export const seedLock = z.object({
  arch: z.enum(['amd64', 'riscv64']),
  suite: z.string(),
  mirror: z.string().url(),
  roots: z.array(z.string()),
  packages: z.array(debPackage).min(1),
  /** What the recipe made from these packages; the package set refers to both by hash. */
  outputs: z.object({
    tarball: z.object({ name: z.string(), sha256: sha256Hex }),
    busybox: z.object({ name: z.string(), narSha256: sha256Hex }),
  }),
})
export type SeedLock = z.infer<typeof seedLock>

export function seedLockPath(arch: SeedArch): string {
  return join(imageDir, 'seed', `${arch}.lock.json`)
}

export async function readSeedLock(arch: SeedArch): Promise<SeedLock> {
  const path = seedLockPath(arch)
  const text = await readFile(path, 'utf8').catch((cause: unknown) => {
    throw new Error(`No seed lock for ${arch} at ${path}: run \`npm run seed -- lock --arch ${arch}\``, { cause })
  })
  return seedLock.parse(JSON.parse(text))
}

export async function writeSeedLock(lock: SeedLock): Promise<void> {
  await writeFile(seedLockPath(lock.arch), `${JSON.stringify(seedLock.parse(lock), null, 2)}\n`)
}

/** How a seed lock whose packages left the mirror is refreshed. */
export const seedLockRefresh = (arch: SeedArch): LockRefresh => ({ command: `npm run seed -- lock --arch ${arch}`, lockFile: `image/seed/${arch}.lock.json` })

/** Resolves the recipe's roots and their dependencies to exact versions, files and hashes. */
export async function resolveSeedPackages(recipe: SeedRecipe): Promise<DebPackage[]> {
  return resolveDebClosure(await privateApt(recipe), recipe.arch, recipe.roots)
}
