import { runNix } from './env.ts'
import { readDerivationOutputs, storePathName } from './derivation.ts'
import { instantiate, type InstantiateOptions } from './instantiate.ts'
import { type BuildTarget } from '../protocol/request.ts'
import { invalidPaths } from './store.ts'

/** A fixed-output derivation in a build closure: a source that must be in the store beforehand. */
export type FixedOutput = {
  name: string
  /** Where the output lives; the same path `nix-store --add-fixed` gives for the right bytes. */
  storePath: string
  drvPath: string
  mode: 'flat' | 'recursive'
  /** sha256 of the file (flat) or of its NAR serialisation (recursive), 64 hex digits. */
  sha256: string
  present: boolean
}

/** Every fixed-output derivation in the build closure of these .drv files, sorted by name. */
export async function fixedOutputsOf(drvPaths: readonly string[]): Promise<FixedOutput[]> {
  if (drvPaths.length === 0) return []
  const { stdout } = await runNix('nix-store', ['--query', '--requisites', ...drvPaths])
  const drvs = stdout.split('\n').filter((path) => path.endsWith('.drv'))
  const found: Omit<FixedOutput, 'present'>[] = []
  for (const drvPath of drvs) {
    for (const output of await readDerivationOutputs(drvPath)) {
      if (!output.hash) continue
      const recursive = output.hashAlgo.startsWith('r:')
      const algo = output.hashAlgo.replace(/^r:/, '')
      if (algo !== 'sha256') throw new Error(`${drvPath} uses ${algo}; Cartenix sources are identified by sha256 only`)
      found.push({ name: storePathName(output.path), storePath: output.path, drvPath, mode: recursive ? 'recursive' : 'flat', sha256: output.hash })
    }
  }
  const missing = await invalidPaths(found.map((f) => f.storePath))
  return found
    .map((f) => ({ ...f, present: !missing.has(f.storePath) }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.storePath.localeCompare(b.storePath))
}

/** The fixed-output derivations a target needs: what the machine image must carry to build it. */
export async function listFixedOutputs(target: BuildTarget, options: InstantiateOptions = {}): Promise<FixedOutput[]> {
  return fixedOutputsOf(await instantiate(target, options))
}
