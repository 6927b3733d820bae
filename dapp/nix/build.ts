import { runNix } from './env.ts'
import { CommandFailedError } from '../../scripts/lib/exec.ts'
import { readDerivationOutputs } from './derivation.ts'
import { BuildFailedError, MissingSourcesError } from './errors.ts'
import { fixedOutputsOf } from './fods.ts'
import { describeTarget, instantiate, type BuildTarget } from './instantiate.ts'

export type BuiltOutput = {
  name: string
  path: string
  /** NAR hash as Nix prints it, `sha256:<nix32>`. */
  narHash: string
  narSize: bigint
}

export type BuiltDerivation = { drvPath: string; outputs: BuiltOutput[] }

export type BuildOptions = {
  system?: string
  /** Wall-clock limit for evaluation and for the build, each. */
  timeoutMs?: number
  /** How much of a failed build's log to keep. */
  logTailBytes?: number
  /** Rebuild and compare with the outputs already in the store (`--check`). */
  check?: boolean
}

const tail = (text: string, bytes: number) => (text.length > bytes ? text.slice(-bytes) : text)

async function queryOutput(name: string, path: string): Promise<BuiltOutput> {
  const { stdout: hash } = await runNix('nix-store', ['--query', '--hash', path])
  const { stdout: size } = await runNix('nix-store', ['--query', '--size', path])
  return { name, path, narHash: hash.trim(), narSize: BigInt(size.trim()) }
}

/**
 * Evaluates the target, refuses to start unless every fixed-output source of its closure is in the
 * store, builds it in the sandbox, and returns each output's NAR hash and size.
 */
export async function buildTarget(target: BuildTarget, options: BuildOptions = {}): Promise<BuiltDerivation[]> {
  const name = describeTarget(target)
  const logTailBytes = options.logTailBytes ?? 4096
  const drvPaths = await instantiate(target, options)
  const missing = (await fixedOutputsOf(drvPaths)).filter((f) => !f.present)
  if (missing.length > 0) throw new MissingSourcesError({ target: name, missing })
  const realise = ['--realise', ...drvPaths, ...(options.check ? ['--check'] : [])]
  await runNix('nix-store', realise, { timeoutMs: options.timeoutMs }).catch((cause: unknown) => {
    if (cause instanceof CommandFailedError) throw new BuildFailedError({ target: name, logTail: tail(cause.stderr, logTailBytes), cause })
    throw cause
  })
  return Promise.all(
    drvPaths.map(async (drvPath) => ({
      drvPath,
      outputs: await Promise.all((await readDerivationOutputs(drvPath)).map((o) => queryOutput(o.name, o.path))),
    })),
  )
}
