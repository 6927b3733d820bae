import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { currentSystem, runNix } from './env.ts'
import { imageDir as defaultImageDir } from '../lib/paths.ts'
import { CommandFailedError } from '../lib/exec.ts'
import { EvaluationError } from './errors.ts'
import { packageSetInStore, packageSetName } from './package-set.ts'
import { addFixed } from './store.ts'
import type { BuildTarget } from '../protocol/request.ts'

/**
 * What to build: an attribute path of the package set (`hello`, `lua`), or a Nix expression that
 * is a function of the package set (`pkgs: pkgs.hello`).
 */

export type InstantiateOptions = {
  /**
   * The Nix system to evaluate for (default: this machine's). Always passed to Nix explicitly:
   * pure evaluation has no current system.
   */
  system?: string
  timeoutMs?: number
  /** Address-space limit for the evaluator, bytes. */
  memoryBytes?: number
  /** The image whose package set is evaluated (default: this repository's, or CARTENIX_ROOT's). */
  imageDir?: string
}

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
 * Evaluation is pure, so that a request gives the same derivation whenever and wherever it is
 * evaluated: no clock (`builtins.currentTime` and `builtins.currentSystem` do not exist), no
 * environment (`getEnv` is ""), no search path, and no file but the store paths named below with
 * their hashes. It is also restricted: no URI may be fetched, and no derivation may be built to
 * finish evaluating (import-from-derivation).
 */
export const pureEvaluation = [
  '--option', 'pure-eval', 'true',
  '--option', 'restrict-eval', 'true',
  '--option', 'allow-import-from-derivation', 'false',
] as const

/** The name of a request's file in the store: `./.` inside a request is therefore /nix/store. */
const requestName = 'cartenix-request.nix'

/**
 * The package set for a system, and the request applied to it. Store paths come in through
 * `builtins.path` with their hash, the only way pure evaluation reads a file; everything arrives
 * as --argstr, so no request text is ever spliced into Nix source.
 */
const packageSetExpression = `{ imagePath, imageHash, system, requestPath ? null, requestHash ? null, listAttributes ? "" }:
let
  image = builtins.path { path = imagePath; name = "${packageSetName}"; sha256 = imageHash; };
  pkgs = import (image + "/pkgs") { inherit system; };
in
if listAttributes != "" then builtins.filter (name: (pkgs.\${name}.type or null) == "derivation") (builtins.attrNames pkgs)
else if requestPath == null then pkgs
else (import (builtins.path { path = requestPath; name = "${requestName}"; sha256 = requestHash; recursive = false; })) pkgs`

/** The arguments that evaluate the package set of `imageDir` for `system`, purely. */
export async function packageSetArgs(options: { system?: string; imageDir?: string }): Promise<string[]> {
  const image = await packageSetInStore(options.imageDir ?? defaultImageDir)
  return [
    ...pureEvaluation,
    '--expr', packageSetExpression,
    '--argstr', 'imagePath', image.path,
    '--argstr', 'imageHash', image.narHash,
    '--argstr', 'system', options.system ?? (await currentSystem()),
  ]
}

/** Adds a request's expression to the store by content; returns its path and flat sha256. */
async function requestInStore(expr: string): Promise<{ path: string; sha256: string }> {
  const text = `${expr}\n`
  const dir = await mkdtemp(join(tmpdir(), 'cartenix-expr-'))
  try {
    const file = join(dir, requestName)
    await writeFile(file, text)
    return { path: await addFixed(file, 'flat'), sha256: createHash('sha256').update(text).digest('hex') }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** HOME while evaluating: Nix's own name for the home of a build that has none. */
const homeless = '/homeless-shelter'

async function evaluate(target: BuildTarget, options: InstantiateOptions): Promise<string[]> {
  const args = await packageSetArgs(options)
  if ('attr' in target) {
    args.push('--attr', target.attr)
  } else {
    const request = await requestInStore(target.expr)
    args.push('--argstr', 'requestPath', request.path, '--argstr', 'requestHash', request.sha256)
  }
  const { stdout } = await runNix('nix-instantiate', args, {
    // Nothing may depend on where, or by whom, the evaluation was started: not the working
    // directory, and not the home directory (the parser turns `~/x` into "$HOME/x").
    cwd: '/',
    env: { HOME: homeless },
    timeoutMs: options.timeoutMs,
    limits: { addressSpaceBytes: options.memoryBytes },
  })
  return stdout.split('\n').filter(Boolean)
}
