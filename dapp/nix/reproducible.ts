/**
 * Which derivations a build must reproduce before its result is attested.
 *
 * Honest validators must agree on every NAR hash, or a quorum stalls on the first build that can
 * see something that differs between runs (the kernel's randomness, the clock). The package set's
 * own derivations are part of the machine template and are tested to rebuild bit for bit
 * (test/nix/packages.test.ts), so they are built once. Every other derivation of a request's
 * closure (those a requester's expression defines) is built, then built again in a fresh
 * sandbox and compared (`--check`; Nix 2.13 removed the `repeat` setting, and the riscv64 tree
 * has 2.26): if the two builds differ, the outputs are taken out of the store, nothing is
 * attested, and the result is a failed notice with no NAR hash (NotReproducibleError). See
 * docs/determinism.md for what this catches and what it cannot.
 */
import { instantiate } from './instantiate.ts'
import { packageAttributes } from './attributes.ts'
import { readDerivationOutputs } from './derivation.ts'
import { runNix } from './env.ts'
import { invalidPaths, runtimeClosure } from './store.ts'

const packageSets = new Map<string, Promise<ReadonlySet<string>>>()

/** Every derivation the package set's attributes need (their .drv closure), for `system`; computed once per process. */
export function packageSetDerivations(system: string): Promise<ReadonlySet<string>> {
  let pending = packageSets.get(system)
  if (!pending) {
    pending = (async () => {
      const attributes = await packageAttributes(system)
      // One evaluation for all of them: the same package set a request gets, so the same .drv paths.
      const expr = `pkgs: map (name: builtins.getAttr name pkgs) [ ${attributes.map((name) => JSON.stringify(name)).join(' ')} ]`
      const drvPaths = await instantiate({ expr }, { system })
      return new Set((await runtimeClosure(drvPaths)).filter((path) => path.endsWith('.drv')))
    })()
    // A failed attempt is not kept: the next build tries again.
    pending.catch(() => packageSets.delete(system))
    packageSets.set(system, pending)
  }
  return pending
}

/**
 * The derivations of `drvPath`'s closure that are the requester's and are not built yet: the
 * ones this build makes, and must make twice. (One built before was checked when it was made.)
 */
export async function derivationsToReproduce(drvPath: string, system: string): Promise<string[]> {
  const packageSet = await packageSetDerivations(system)
  const own = (await runtimeClosure([drvPath])).filter((path) => path.endsWith('.drv') && !packageSet.has(path))
  const unbuilt: string[] = []
  for (const drv of own) {
    const outputs = await readDerivationOutputs(drv)
    if ((await invalidPaths(outputs.map((o) => o.path))).size > 0) unbuilt.push(drv)
  }
  return unbuilt
}

/** Nix's words (2.8 and 2.26 alike) when `--check` rebuilt a derivation and got other bytes. */
export function differingDerivation(stderr: string): string | undefined {
  return /derivation '([^']+\.drv)' may not be deterministic/.exec(stderr)?.[1]
}

/**
 * Takes the outputs of derivations found not reproducible out of the store, so that no later
 * request finds them built and takes them unchecked. Together: they may refer to each other.
 */
export async function forgetOutputs(drvPaths: readonly string[]): Promise<void> {
  const outputs = (await Promise.all(drvPaths.map(readDerivationOutputs))).flat().map((o) => o.path)
  const invalid = await invalidPaths(outputs)
  const valid = outputs.filter((path) => !invalid.has(path))
  if (valid.length > 0) await runNix('nix-store', ['--delete', ...valid])
}
