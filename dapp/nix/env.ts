import { join } from 'node:path'
import { z } from 'zod'
import { exec, type ExecOptions, type ExecResult } from '../lib/exec.ts'
import { nixConfDir } from '../lib/paths.ts'

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

/**
 * Kernel resource limits (setrlimit, through util-linux's prlimit) for one Nix process and
 * everything it starts, the sandboxed builder included: they bound what a hostile request can
 * take from the machine.
 */
export type ResourceLimits = {
  /** Address space, bytes: evaluation that allocates without end fails instead of swapping the host. */
  addressSpaceBytes?: number
  /** Largest file a process may write, bytes: an enormous output fails with SIGXFSZ. */
  fileSizeBytes?: number
  /** Processes: the builder runs in its own user namespace, where this caps a fork bomb. */
  processes?: number
}

function limitArgs(limits: ResourceLimits): string[] {
  return [
    ...(limits.addressSpaceBytes ? [`--as=${limits.addressSpaceBytes}`] : []),
    ...(limits.fileSizeBytes ? [`--fsize=${limits.fileSizeBytes}`] : []),
    ...(limits.processes ? [`--nproc=${limits.processes}`] : []),
  ]
}

const initialised = new Map<string, Promise<void>>()

/**
 * Nix creates its store and database the first time a command opens them, and commands that
 * race to do so leave `'/nix/var/nix/db/schema' is corrupt` behind (seen on a fresh machine, where
 * set-up ran several at once). So the first Nix command of a process, for each store, is
 * `nix-store --init` on its own, and every other waits for it. Cheap once the store exists.
 */
export function initialiseStore(env: NodeJS.ProcessEnv = nixEnv()): Promise<void> {
  const store = env.NIX_REMOTE ?? 'local'
  let pending = initialised.get(store)
  if (!pending) {
    pending = exec('nix-store', ['--init'], { env }).then(() => undefined)
    // A failure (Nix not installed yet) is not remembered: the next command tries again.
    pending.catch(() => initialised.delete(store))
    initialised.set(store, pending)
  }
  return pending
}

/** Runs a Nix program (nix-store, nix-build, nix-instantiate, nix) with the project's settings. */
export async function runNix(program: string, args: readonly string[], options: ExecOptions & { limits?: ResourceLimits } = {}): Promise<ExecResult> {
  const { limits, ...rest } = options
  const env = nixEnv(rest.env)
  await initialiseStore(env)
  const prlimit = limits ? limitArgs(limits) : []
  if (prlimit.length === 0) return exec(program, args, { ...rest, env })
  return exec('prlimit', [...prlimit, '--', program, ...args], { ...rest, env })
}

let hostSystem: Promise<string> | undefined

/**
 * The system this machine's Nix builds for (`builtins.currentSystem`, read once, outside pure
 * evaluation, which is always given its system explicitly). The back end builds for it unless
 * CARTENIX_SYSTEM says otherwise.
 */
export async function currentSystem(): Promise<string> {
  let pending = hostSystem
  if (!pending) {
    pending = runNix('nix-instantiate', ['--eval', '--json', '--expr', 'builtins.currentSystem']).then(({ stdout }) => z.string().parse(JSON.parse(stdout)))
    hostSystem = pending
  }
  return pending
}

/**
 * Where a store path's bytes are on this file system. A store kept under another root
 * (NIX_REMOTE=local?root=DIR: the store of its own that `cartenix replay` and a validator give
 * their back end) holds /nix/store/x at DIR/nix/store/x; reading /nix/store/x there would read
 * the host's store, or nothing.
 */
export function pathOnDisk(storePath: string, env: NodeJS.ProcessEnv = process.env): string {
  const root = /(?:^|[?&])root=([^&]+)/.exec(env.NIX_REMOTE ?? '')?.[1]
  return root ? join(decodeURIComponent(root), storePath) : storePath
}
