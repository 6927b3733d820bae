/**
 * The hello output in the local store: where it is, and taking it out so that the next build is
 * cold. Only that one path is deleted (its dependencies, the seed and the sources stay), always
 * through runNix so Nix reads the project's nix.conf.
 */
import { readFile } from 'node:fs/promises'
import { readDerivationOutputs } from '../../dapp/nix/derivation.ts'
import { runNix } from '../../dapp/nix/env.ts'
import { instantiate } from '../../dapp/nix/instantiate.ts'
import { type BuildTarget } from '../../dapp/protocol/request.ts'
import { invalidPaths } from '../../dapp/nix/store.ts'
import { CommandFailedError } from '../../dapp/lib/exec.ts'

export type TargetOutputs = { drvPath: string; outputs: string[] }

/** The .drv and output paths a target evaluates to (evaluation only; nothing is built). */
export async function outputsOf(target: BuildTarget): Promise<TargetOutputs> {
  const [drvPath, ...others] = await instantiate(target)
  if (!drvPath || others.length > 0) throw new Error(`Expected one derivation, got ${others.length + (drvPath ? 1 : 0)}`)
  return { drvPath, outputs: (await readDerivationOutputs(drvPath)).map((o) => o.path) }
}

/** Nix refused to delete a path because something still uses it; the message says what. */
export class PathAliveError extends Error {
  override name = 'PathAliveError' as const
}

/** How long to wait for another Nix process to let go of a path (its temporary GC root) before giving up. */
const transientRetries = 30
const transientWaitMs = 2000

/**
 * Removes store paths that are there. A path held only by running processes (another Nix
 * process's temporary root, an open file) is retried for a while, since that hold ends with the
 * process; anything else alive (a result link, a referrer) fails at once with PathAliveError,
 * which names the GC roots, the processes behind them and the referrers.
 */
export async function deleteFromStore(paths: readonly string[], log: (line: string) => void = () => {}): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const invalid = await invalidPaths(paths)
    const present = paths.filter((p) => !invalid.has(p))
    if (present.length === 0) return
    try {
      await runNix('nix-store', ['--delete', ...present])
    } catch (cause) {
      if (!(cause instanceof CommandFailedError)) throw cause
      const alive = await whyAlive(present)
      if (alive.transient && attempt < transientRetries) {
        log(`${present.join(' ')} is held by a running process (${alive.text}); retrying in ${transientWaitMs / 1000} s`)
        await new Promise((resolve) => setTimeout(resolve, transientWaitMs))
        continue
      }
      throw new PathAliveError(`nix-store --delete refused ${present.join(' ')}: ${alive.text}`, { cause })
    }
    const gone = await invalidPaths(present)
    const kept = present.filter((p) => !gone.has(p))
    if (kept.length > 0) throw new Error(`Still in the store after nix-store --delete: ${kept.join(' ')}`)
    return
  }
}

/** `{temp:PID}` and the like are roots of running processes (Nix's own temporary roots, open files). */
const runtimeRoot = /^\{(temp|memory|lsof|censored)[^}]*\}|^\/proc\//

/** Why Nix considers paths alive: GC roots (result links, running processes) and other paths referring to them. */
async function whyAlive(paths: readonly string[]): Promise<{ text: string; transient: boolean }> {
  const query = async (flag: string) =>
    (await runNix('nix-store', ['--query', flag, ...paths]).then((r) => r.stdout, () => ''))
      .split('\n')
      .filter((line) => line && !paths.includes(line))
  const roots = await query('--roots')
  const referrers = await query('--referrers')
  const described = await Promise.all(roots.map(describeRoot))
  const parts = [
    described.length ? `GC roots ${described.join(', ')}` : 'no GC roots',
    referrers.length ? `referred to by ${referrers.join(', ')}` : 'no referrers',
  ]
  const transient = referrers.length === 0 && roots.length > 0 && roots.every((root) => runtimeRoot.test(root))
  return { text: parts.join('; '), transient }
}

/** A temporary root names its process; its command line says who holds the path. */
async function describeRoot(root: string): Promise<string> {
  const pid = /^\{temp:(\d+)\}/.exec(root)?.[1]
  if (!pid) return root
  const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').then((text) => text.split('\0').join(' ').trim(), () => 'exited')
  return `${root} (process ${pid}: ${command.slice(0, 160)})`
}
