/**
 * The hello output in the local store: where it is, and taking it out so that the next build is
 * cold. Only that one path is deleted (its dependencies, the seed and the sources stay), always
 * through runNix so Nix reads the project's nix.conf.
 */
import { readDerivationOutputs } from '../../dapp/nix/derivation.ts'
import { runNix } from '../../dapp/nix/env.ts'
import { instantiate, type BuildTarget } from '../../dapp/nix/instantiate.ts'
import { invalidPaths } from '../../dapp/nix/store.ts'
import { CommandFailedError } from '../lib/exec.ts'

export type TargetOutputs = { drvPath: string; outputs: string[] }

/** The .drv and output paths a target evaluates to (evaluation only; nothing is built). */
export async function outputsOf(target: BuildTarget): Promise<TargetOutputs> {
  const [drvPath, ...others] = await instantiate(target)
  if (!drvPath || others.length > 0) throw new Error(`Expected one derivation, got ${others.length + (drvPath ? 1 : 0)}`)
  return { drvPath, outputs: (await readDerivationOutputs(drvPath)).map((o) => o.path) }
}

/** Nix refused to delete a path because something still uses it; the message says what. */
export class PathAliveError extends Error {
  override name = 'PathAliveError' as const
}

/** Removes store paths that are there; PathAliveError names the GC roots and referrers otherwise. */
export async function deleteFromStore(paths: readonly string[]): Promise<void> {
  const invalid = await invalidPaths(paths)
  const present = paths.filter((p) => !invalid.has(p))
  if (present.length === 0) return
  try {
    await runNix('nix-store', ['--delete', ...present])
  } catch (cause) {
    if (!(cause instanceof CommandFailedError)) throw cause
    throw new PathAliveError(`nix-store --delete refused ${present.join(' ')}: ${await whyAlive(present)}`, { cause })
  }
  const gone = await invalidPaths(present)
  const kept = present.filter((p) => !gone.has(p))
  if (kept.length > 0) throw new Error(`Still in the store after nix-store --delete: ${kept.join(' ')}`)
}

/** Why Nix considers paths alive: GC roots (result links, running processes) and other paths referring to them. */
async function whyAlive(paths: readonly string[]): Promise<string> {
  const query = async (flag: string) =>
    (await runNix('nix-store', ['--query', flag, ...paths]).then((r) => r.stdout, () => ''))
      .split('\n')
      .filter((line) => line && !paths.includes(line))
  const roots = await query('--roots')
  const referrers = await query('--referrers')
  const parts = [
    roots.length ? `GC roots ${roots.join(', ')}` : 'no GC roots',
    referrers.length ? `referred to by ${referrers.join(', ')}` : 'no referrers',
  ]
  return parts.join('; ')
}
