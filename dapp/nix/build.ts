import { statfs } from 'node:fs/promises'
import { pathOnDisk, runNix } from './env.ts'
import { CommandFailedError } from '../lib/exec.ts'
import { readDerivationOutputs } from './derivation.ts'
import { BuildFailedError, MissingSourcesError, NotReproducibleError } from './errors.ts'
import { fixedOutputsOf } from './fods.ts'
import { defaultLogTailBytes, logExcerpt } from './log.ts'
import { invalidPaths, runtimeClosure, storePathInfos, type StorePathInfo } from './store.ts'
import { instantiate } from './instantiate.ts'
import { derivationsToReproduce, differingDerivation, forgetOutputs } from './reproducible.ts'
import { type BuildTarget } from '../protocol/request.ts'

/** An output: its NAR hash as Nix prints it (`sha256:<nix32>`), size and references. */
export type BuiltOutput = StorePathInfo & { name: string }

/** The outputs, and every other path of their runtime closure (what a binary cache must also serve). */
export type BuiltDerivation = { drvPath: string; outputs: BuiltOutput[]; closure: StorePathInfo[] }

export type BuildOptions = {
  system?: string
  /** Wall-clock limit for evaluation. */
  evalTimeoutMs?: number
  /** Address-space limit for evaluation, bytes. */
  memoryBytes?: number
  /** Wall-clock limit for the build. */
  buildTimeoutMs?: number
  /** How much of a failed build's log to keep, bytes (logExcerpt). */
  logTailBytes?: number
  /** Rebuild and compare with the outputs already in the store (`--check`). */
  check?: boolean
  /**
   * Build the requester's own derivations a second time and compare (reproducible.ts): two
   * different outputs throw NotReproducibleError. Needs `system`. What the back end does for
   * every input.
   */
  reproduce?: boolean
  /** Largest file the builder may write, bytes. */
  maxFileBytes?: number
  /** Processes the builder may run at once. */
  maxProcesses?: number
  /** Stop the build when the store's disk has less than this free, bytes. */
  minFreeDiskBytes?: number
}

/**
 * Watches the free space of the store's file system while a build runs and aborts it when the
 * space falls under the floor: a build that fills the disk fails instead of filling it.
 */
function diskWatch(minFreeBytes: number | undefined): { signal?: AbortSignal; tripped: () => boolean; stop: () => void } {
  if (!minFreeBytes) return { tripped: () => false, stop: () => {} }
  const controller = new AbortController()
  let tripped = false
  const timer = setInterval(() => {
    void statfs(pathOnDisk('/nix/store')).then((stats) => {
      if (!tripped && stats.bavail * stats.bsize < minFreeBytes) {
        tripped = true
        controller.abort()
      }
    })
  }, 250)
  return { signal: controller.signal, tripped: () => tripped, stop: () => clearInterval(timer) }
}

async function describeBuilt(drvPath: string, outputs: readonly { name: string; path: string }[]): Promise<BuiltDerivation> {
  const paths = outputs.map((o) => o.path)
  const others = (await runtimeClosure(paths)).filter((path) => !paths.includes(path))
  const [infos, closure] = await Promise.all([storePathInfos(paths), storePathInfos(others)])
  return { drvPath, outputs: infos.map((info, i) => ({ name: outputs[i]?.name ?? '', ...info })), closure }
}

/**
 * Builds one evaluated derivation in the sandbox, after checking that every fixed-output source
 * of its closure is in the store (MissingSourcesError otherwise, and nothing is built). Outputs
 * already in the store are not rebuilt. Returns each output's NAR hash, size and references, and
 * the same for the rest of the outputs' runtime closure.
 */
export async function buildDerivation(drvPath: string, options: BuildOptions = {}): Promise<BuiltDerivation> {
  const outputs = await readDerivationOutputs(drvPath)
  // Outputs already in the store are the answer: nothing is built, so no source is needed.
  const built = !options.check && (await invalidPaths(outputs.map((o) => o.path))).size === 0
  if (!built) {
    const missing = (await fixedOutputsOf([drvPath])).filter((f) => !f.present)
    if (missing.length > 0) throw new MissingSourcesError({ target: drvPath, missing })
    // Nix enforces the time limit itself, for each builder (it kills the builder and says so in
    // the log); the process timeout is only a safety net should Nix itself hang. A closure of
    // several derivations to build can take longer than the limit in all: the node's deadline
    // then ends the input (docs/deadlines.md). Stopping builders from outside instead let a
    // fork bomb fill the host's process table now and then.
    const limit = options.buildTimeoutMs === undefined ? [] : ['--option', 'timeout', String(Math.ceil(options.buildTimeoutMs / 1000))]
    const safetyNet = options.buildTimeoutMs === undefined ? undefined : options.buildTimeoutMs + 60_000
    const limits = { fileSizeBytes: options.maxFileBytes, processes: options.maxProcesses }
    const disk = diskWatch(options.minFreeDiskBytes)
    const realise = (args: string[]) => runNix('nix-store', ['--realise', ...args, ...limit], { timeoutMs: safetyNet, limits, signal: disk.signal })
    try {
      // The requester's derivations this build makes (reproducible.ts): each is built again
      // once the whole closure is built, and compared.
      let again: string[] = []
      if (options.reproduce && !options.check) {
        if (!options.system) throw new Error('buildDerivation: reproduce needs the system the package set is evaluated for')
        again = await derivationsToReproduce(drvPath, options.system)
      }
      await realise([drvPath, ...(options.check ? ['--check'] : [])])
      for (const drv of again) {
        await realise([drv, '--check']).catch(async (cause: unknown) => {
          const differs = cause instanceof CommandFailedError ? differingDerivation(cause.stderr) : undefined
          if (!differs) throw cause
          await forgetOutputs(again)
          throw new NotReproducibleError({ target: drvPath, derivation: differs, logTail: logExcerpt(cause instanceof CommandFailedError ? cause.stderr : '', options.logTailBytes ?? defaultLogTailBytes), cause })
        })
      }
    } catch (cause) {
      if (disk.tripped()) {
        const floor = `${Math.round((options.minFreeDiskBytes ?? 0) / 1024 / 1024)} MiB`
        throw new BuildFailedError({ target: drvPath, logTail: `build stopped: less than ${floor} left free on the store's disk`, cause })
      }
      if (cause instanceof CommandFailedError) {
        throw new BuildFailedError({ target: drvPath, logTail: logExcerpt(cause.stderr, options.logTailBytes ?? defaultLogTailBytes), cause })
      }
      throw cause
    } finally {
      disk.stop()
    }
  }
  return describeBuilt(drvPath, outputs)
}

/** Evaluates the target and builds every derivation it yields (see buildDerivation). */
export async function buildTarget(target: BuildTarget, options: BuildOptions = {}): Promise<BuiltDerivation[]> {
  const drvPaths = await instantiate(target, { system: options.system, timeoutMs: options.evalTimeoutMs, memoryBytes: options.memoryBytes })
  const built: BuiltDerivation[] = []
  for (const drvPath of drvPaths) built.push(await buildDerivation(drvPath, options))
  return built
}
