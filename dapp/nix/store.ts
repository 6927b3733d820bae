import { spawn } from 'node:child_process'
import { open } from 'node:fs/promises'
import { nixEnv, runNix } from './env.ts'
import type { SourceMode } from '../protocol/primitives.ts'

/** How a fixed-output path is hashed: the file's bytes, or its NAR serialisation. */
export type HashMode = SourceMode

/**
 * The store path that a fixed-output derivation (or `nix-store --add-fixed`) with this name, hash
 * mode and sha256 gets. Nix computes it; no hashing scheme is re-implemented here.
 */
export async function fixedOutputPath(args: { name: string; sha256: string; mode: HashMode }): Promise<string> {
  const flags = args.mode === 'recursive' ? ['--recursive'] : []
  const { stdout } = await runNix('nix-store', ['--print-fixed-path', ...flags, 'sha256', args.sha256, args.name])
  return stdout.trim()
}

/** Which of these store paths are not valid (absent, or present but not registered) in the local store. */
export async function invalidPaths(paths: readonly string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set()
  const { stdout } = await runNix('nix-store', ['--check-validity', '--print-invalid', ...paths])
  return new Set(stdout.split('\n').filter(Boolean))
}

/**
 * Adds a file (flat) or a directory (recursive) by content: Nix hashes the bytes itself, so the
 * resulting path is the one an FOD with that hash has. Returns the store path.
 */
export async function addFixed(path: string, mode: HashMode): Promise<string> {
  const flags = mode === 'recursive' ? ['--recursive'] : []
  const { stdout } = await runNix('nix-store', ['--add-fixed', ...flags, 'sha256', path])
  return stdout.trim()
}

/** The NAR hash of a valid store path, as Nix prints it: `sha256:<nix32>`. */
export async function narHash(storePath: string): Promise<string> {
  const { stdout } = await runNix('nix-store', ['--query', '--hash', storePath])
  return stdout.trim()
}

/** Converts any hash Nix accepts (`sha256:<nix32>`, SRI, hex) to 64 hex digits, by asking Nix. */
export async function toHex(hash: string): Promise<string> {
  const { stdout } = await runNix('nix', ['hash', 'to-base16', '--type', 'sha256', hash.replace(/^sha256:/, '')])
  return stdout.trim()
}

/** What a binary cache says of a valid store path, as this store has it. */
export type StorePathInfo = {
  path: string
  /** `sha256:<nix32>`, as Nix prints it. */
  narHash: string
  narSize: bigint
  /** Full store paths, sorted; the path itself when it refers to itself. */
  references: string[]
}

/** NAR hash, size and references of each of these valid store paths, in the order given. */
export async function storePathInfos(paths: readonly string[]): Promise<StorePathInfo[]> {
  if (paths.length === 0) return []
  const lines = async (args: string[]) => (await runNix('nix-store', args)).stdout.split('\n').filter(Boolean)
  const [hashes, sizes] = await Promise.all([lines(['--query', '--hash', ...paths]), lines(['--query', '--size', ...paths])])
  // --references merges the answers for several paths, so each path is asked on its own.
  const references = await Promise.all(paths.map((path) => lines(['--query', '--references', path])))
  if (hashes.length !== paths.length || sizes.length !== paths.length) {
    throw new Error(`nix-store answered ${hashes.length} hashes and ${sizes.length} sizes for ${paths.length} paths`)
  }
  return paths.map((path, i) => ({
    path,
    narHash: hashes[i] ?? '',
    narSize: BigInt(sizes[i] ?? '0'),
    references: [...(references[i] ?? [])].sort(),
  }))
}

/** Every path the given paths need at run time (their closure), sorted, the paths themselves included. */
export async function runtimeClosure(paths: readonly string[]): Promise<string[]> {
  if (paths.length === 0) return []
  const { stdout } = await runNix('nix-store', ['--query', '--requisites', ...paths])
  return stdout.split('\n').filter(Boolean).sort()
}

/** Removes a store path nothing refers to (`nix-store --delete`), e.g. a source added for an input that was then not accepted. */
export async function deletePath(path: string): Promise<void> {
  await runNix('nix-store', ['--delete', path])
}

/** Unpacks a NAR file into `target` (which must not exist), as `nix-store --restore` does from standard input. */
export async function restoreNar(narFile: string, target: string): Promise<void> {
  const file = await open(narFile, 'r')
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('nix-store', ['--restore', target], { env: nixEnv(), stdio: [file.fd, 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr?.on('data', (data: Buffer) => (stderr += data.toString()))
      child.on('error', reject)
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nix-store --restore failed (${code}): ${stderr.trim()}`))))
    })
  } finally {
    await file.close()
  }
}

