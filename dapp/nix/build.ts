import { readdirSync, readFileSync } from 'node:fs'
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

/** A reason to stop a build early: whether it fired, and a way to stop watching. */
type Stop = { tripped: () => boolean; stop: () => void }

/**
 * Watches the free space of the store's file system while a build runs and stops it when the
 * space falls under the floor: a build that fills the disk fails instead of filling it.
 */
function diskWatch(minFreeBytes: number | undefined, halt: () => void): Stop {
  if (!minFreeBytes) return { tripped: () => false, stop: () => {} }
  let tripped = false
  const timer = setInterval(() => {
    void statfs(pathOnDisk('/nix/store')).then((stats) => {
      if (!tripped && stats.bavail * stats.bsize < minFreeBytes) {
        tripped = true
        halt()
      }
    })
  }, 250)
  return { tripped: () => tripped, stop: () => clearInterval(timer) }
}

/**
 * How long after the build's time limit the whole realisation is stopped. A single builder
 * that runs too long is stopped by Nix's own `timeout` first: Nix ends it cleanly, and a fork
 * bomb with it (stopped from outside instead, one filled the host's process table now and then
 * in the limits test). The back end's margin under the node's deadline (dapp/config.ts, at
 * least 10 s) covers this.
 */
export const wholeClosureGraceMs = 5_000

/**
 * Stops the whole realisation when its time is up. Nix's own `timeout` counts for one builder
 * at a time, so a target whose closure has ten derivations to build could take ten times as
 * long; this one counts for all of them together, which is what the node's deadline needs.
 */
function timeLimit(ms: number | undefined, halt: () => void): Stop {
  if (ms === undefined) return { tripped: () => false, stop: () => {} }
  let tripped = false
  const timer = setTimeout(() => {
    tripped = true
    halt()
  }, ms + wholeClosureGraceMs)
  return { tripped: () => tripped, stop: () => clearTimeout(timer) }
}

/**
 * Stops a running nix-store and its builds. Each builder is a child of nix-store and the first
 * process of a PID namespace of its own, so SIGKILL to it ends everything in that namespace at
 * once, a fork bomb included. nix-store itself then gets SIGTERM (through `controller`). A
 * SIGTERM to nix-store alone is not enough: seen here, a fork bomb's builder outlived it and
 * filled the host's process table.
 */
/**
 * The processes whose parent is `pid`, from every thread's list: nix-store may start a builder
 * from another thread than its main one, and /proc/<pid>/task/<pid>/children lists the main
 * thread's only.
 */
function childrenOf(pid: number): number[] {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8')
    } catch {
      return ''
    }
  }
  let threads: string[] = []
  try {
    threads = readdirSync(`/proc/${pid}/task`)
  } catch {
    return []
  }
  return threads.flatMap((tid) => read(`/proc/${pid}/task/${tid}/children`).split(/\s+/).filter(Boolean).map(Number))
}

/** The halts of the realisations running now (haltBuilds). */
const running = new Set<() => void>()

/** Stops every build running in this process the way a time limit does (the back end, on SIGTERM). */
export function haltBuilds(): void {
  for (const halt of running) halt()
}

function halter(controller: AbortController): { onSpawn: (pid: number) => void; halt: () => void } {
  let pid: number | undefined
  return {
    onSpawn: (spawned) => {
      pid = spawned
    },
    halt: () => {
      for (const child of pid === undefined ? [] : childrenOf(pid)) {
        try {
          process.kill(child, 'SIGKILL')
        } catch {
          // Gone already.
        }
      }
      controller.abort()
    },
  }
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
    // Nix stops one builder that runs too long itself (and says so in the log); timeLimit stops
    // the realisation as a whole, however many derivations it builds.
    const limit = options.buildTimeoutMs === undefined ? [] : ['--option', 'timeout', String(Math.ceil(options.buildTimeoutMs / 1000))]
    const limits = { fileSizeBytes: options.maxFileBytes, processes: options.maxProcesses }
    const controller = new AbortController()
    const { onSpawn, halt } = halter(controller)
    const disk = diskWatch(options.minFreeDiskBytes, halt)
    const clock = timeLimit(options.buildTimeoutMs, halt)
    running.add(halt)
    const realise = (args: string[]) => runNix('nix-store', ['--realise', ...args, ...limit], { limits, signal: controller.signal, onSpawn })
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
      if (clock.tripped()) {
        throw new BuildFailedError({ target: drvPath, logTail: `build stopped: timed out after ${Math.ceil((options.buildTimeoutMs ?? 0) / 1000)} seconds (the builds of the whole closure together)`, cause })
      }
      if (cause instanceof CommandFailedError) {
        const logTail = logExcerpt(cause.stderr, options.logTailBytes ?? defaultLogTailBytes)
        throw new BuildFailedError({ target: drvPath, logTail, cause })
      }
      throw cause
    } finally {
      running.delete(halt)
      disk.stop()
      clock.stop()
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
