import { fixedOutputPath, type HashMode } from '../../dapp/nix/store.ts'
import { readSeedLock } from '../../image/seed/lock.ts'
import { seedArch } from '../../image/seed/recipe.ts'
import { readSourceLock } from '../../dapp/nix/sources.ts'
import { hashPart } from './narinfo.ts'

/** A fixed-output path the locks name: its content must hash to `sha256` (of the file, or of the NAR). */
export type FixedPath = { path: string; name: string; mode: HashMode; sha256: string }

/**
 * Every fixed-output path of this checkout's locks (the upstream sources, and the seed of each
 * architecture), by hash part. The paths follow from name, mode and hash alone (Nix computes them).
 */
export async function lockedFixedPaths(): Promise<Map<string, FixedPath>> {
  const wanted: Omit<FixedPath, 'path'>[] = (await readSourceLock()).map((s) => ({ name: s.name, mode: 'flat' as const, sha256: s.sha256 }))
  for (const arch of seedArch.options) {
    const lock = await readSeedLock(arch)
    wanted.push({ name: lock.outputs.tarball.name, mode: 'flat', sha256: lock.outputs.tarball.sha256 })
    wanted.push({ name: lock.outputs.busybox.name, mode: 'recursive', sha256: lock.outputs.busybox.narSha256 })
  }
  const paths = await Promise.all(wanted.map(async (w) => ({ ...w, path: await fixedOutputPath(w) })))
  return new Map(paths.map((p) => [hashPart(p.path), p]))
}
