import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { imageDir, packageSetPath, runNix } from './env.ts'
import { CommandFailedError } from '../../scripts/lib/exec.ts'
import { EvaluationError } from './errors.ts'

/**
 * What to build: an attribute path of the package set (`hello`, `lua`), or a Nix expression that
 * is a function of the package set (`pkgs: pkgs.hello`).
 */
export type BuildTarget = { attr: string } | { expr: string }

export type InstantiateOptions = {
  /** The Nix system to evaluate for; the package set's default is the host's. */
  system?: string
  timeoutMs?: number
  /** Address-space limit for the evaluator, bytes. */
  memoryBytes?: number
}

// Paths arrive as strings (`/. + "…"`), so a directory name with spaces or quotes cannot change the code.
const applyToPackageSet =
  '{ system ? builtins.currentSystem, requestFile, packageSet }: (import (/. + requestFile)) (import (/. + packageSet) { inherit system; })'

export function describeTarget(target: BuildTarget): string {
  return 'attr' in target ? target.attr : `(${target.expr})`
}

/** Evaluates the target to its .drv paths (one per derivation it yields); EvaluationError if Nix cannot. */
export async function instantiate(target: BuildTarget, options: InstantiateOptions = {}): Promise<string[]> {
  try {
    return await evaluate(target, options)
  } catch (cause) {
    if (cause instanceof CommandFailedError) throw new EvaluationError({ target: describeTarget(target), log: cause.stderr.trim(), cause })
    throw cause
  }
}

/**
 * Evaluation is restricted: only the image's files and the request itself may be read, no URI
 * may be fetched, and no derivation may be built to finish evaluating (import-from-derivation).
 */
function restrictedEvaluation(allowedPaths: readonly string[]): string[] {
  return [
    '--option', 'restrict-eval', 'true',
    '--option', 'allow-import-from-derivation', 'false',
    ...allowedPaths.flatMap((path) => ['-I', path]),
  ]
}

async function evaluate(target: BuildTarget, options: InstantiateOptions): Promise<string[]> {
  const systemArgs = options.system ? ['--argstr', 'system', options.system] : []
  if ('attr' in target) {
    const { stdout } = await runNix(
      'nix-instantiate',
      [...restrictedEvaluation([imageDir]), packageSetPath, '--attr', target.attr, ...systemArgs],
      { timeoutMs: options.timeoutMs, limits: { addressSpaceBytes: options.memoryBytes } },
    )
    return stdout.split('\n').filter(Boolean)
  }
  // The expression goes to a file of its own: it is never spliced into Nix source text.
  const dir = await mkdtemp(join(tmpdir(), 'cartenix-expr-'))
  try {
    const file = join(dir, 'request.nix')
    await writeFile(file, `${target.expr}\n`)
    const { stdout } = await runNix(
      'nix-instantiate',
      [...restrictedEvaluation([imageDir, dir]), '--expr', applyToPackageSet, '--argstr', 'requestFile', file, '--argstr', 'packageSet', packageSetPath, ...systemArgs],
      { timeoutMs: options.timeoutMs, limits: { addressSpaceBytes: options.memoryBytes } },
    )
    return stdout.split('\n').filter(Boolean)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
