import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { exec } from '../../scripts/lib/exec.ts'
import { privateAptOptions } from '../../scripts/lib/apt.ts'
import { cacheDir } from '../../scripts/lib/cache.ts'
import { imageDir } from '../../dapp/nix/env.ts'
import type { SeedArch, SeedRecipe } from './recipe.ts'

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 as 64 lowercase hex digits')

export const seedPackage = z.object({
  package: z.string(),
  version: z.string(),
  /** Path of the .deb under the mirror, as in the Packages index. */
  filename: z.string(),
  sha256: sha256Hex,
  size: z.number().int().positive(),
})
export type SeedPackage = z.infer<typeof seedPackage>

export const seedLock = z.object({
  arch: z.enum(['amd64', 'riscv64']),
  suite: z.string(),
  mirror: z.string().url(),
  roots: z.array(z.string()),
  packages: z.array(seedPackage).min(1),
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

/** apt resolves the seed's dependency closure as if installing into an empty system. */
const privateApt = (recipe: SeedRecipe) =>
  privateAptOptions({ root: cacheDir('apt', `${recipe.suite}-${recipe.arch}`), arch: recipe.arch, suite: recipe.suite, mirror: recipe.mirror })

/** Resolves the recipe's roots and their dependencies to exact versions, files and hashes. */
export async function resolveSeedPackages(recipe: SeedRecipe): Promise<SeedPackage[]> {
  const apt = await privateApt(recipe)
  await exec('apt-get', [...apt, 'update', '-qq'])
  const { stdout } = await exec('apt-get', [...apt, '--print-uris', '--no-install-recommends', '-qq', 'install', ...recipe.roots])
  const wanted = stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const name = /^'[^']+' ([^_ ]+)_[^ ]+\.deb /.exec(line)?.[1]
      if (!name) throw new Error(`Unexpected line from apt-get --print-uris: ${line}`)
      return name
    })
  const packages: SeedPackage[] = []
  for (const name of wanted) {
    const { stdout: record } = await exec('apt-cache', [...apt, 'show', '--no-all-versions', `${name}:${recipe.arch}`])
    const field = (key: string) => new RegExp(`^${key}: (.*)$`, 'm').exec(record)?.[1]
    packages.push(
      seedPackage.parse({
        package: name,
        version: field('Version'),
        filename: field('Filename'),
        sha256: field('SHA256'),
        size: Number(field('Size')),
      }),
    )
  }
  return packages.sort((a, b) => a.package.localeCompare(b.package))
}
