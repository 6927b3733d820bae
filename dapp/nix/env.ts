import { fileURLToPath } from 'node:url'
import { exec, type ExecOptions, type ExecResult } from '../../scripts/lib/exec.ts'

import { join } from 'node:path'

/**
 * The repository's root, found from this file so that tools work from any working directory.
 * Inside the machine the back end is one bundled file, so CARTENIX_ROOT says where image/ is.
 */
export const repoRoot = process.env.CARTENIX_ROOT ?? fileURLToPath(new URL('../../', import.meta.url))

/** What goes into the machine: the package set, the locks, the Nix settings. */
export const imageDir = join(repoRoot, 'image')

/** Where Cartenix keeps its own nix.conf (sandbox on, no substituters); see image/nix/nix.conf. */
export const nixConfDir = join(imageDir, 'nix')

/** The package set: an attribute set of derivations, a function of `{ system }`. */
export const packageSetPath = join(imageDir, 'pkgs', 'default.nix')

/**
 * The environment every Nix command runs in: the project's settings instead of /etc/nix/nix.conf,
 * no NIX_PATH (evaluation must not depend on channels), and a local store (root, no daemon).
 */
export function nixEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NIX_CONF_DIR: nixConfDir, NIX_REMOTE: process.env.NIX_REMOTE ?? 'local' }
  delete env.NIX_PATH
  delete env.NIX_USER_CONF_FILES
  return { ...env, NIX_USER_CONF_FILES: '', ...extra }
}

/** Runs a Nix program (nix-store, nix-build, nix-instantiate, nix) with the project's settings. */
export function runNix(program: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return exec(program, args, { ...options, env: nixEnv(options.env) })
}
