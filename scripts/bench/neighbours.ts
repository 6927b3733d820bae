/**
 * Other Nix work on the machine while something is timed. On two cores, a build that someone
 * else runs at the same time (a test suite, another build of the same output, which Nix makes
 * wait on its lock) distorts a timing far more than anything measured here, so the bench notes
 * when it happened instead of silently reporting the distorted figure.
 *
 * Linux only: it reads /proc. A Nix process is "ours" when this process is among its ancestors
 * (the back end is a child of the bench, so its builds are ours too).
 */
import { readdir, readFile } from 'node:fs/promises'

export type Neighbour = { pid: number; command: string }

const nixProgram = /^(nix|nix-store|nix-build|nix-instantiate|nix-daemon|nix-shell)$/

type Proc = { pid: number; ppid: number; comm: string }

async function processes(): Promise<Map<number, Proc>> {
  const table = new Map<number, Proc>()
  const entries = await readdir('/proc').catch(() => [] as string[])
  await Promise.all(
    entries
      .filter((name) => /^\d+$/.test(name))
      .map(async (name) => {
        const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => undefined)
        if (!stat) return
        // "pid (comm) state ppid …": comm may hold spaces and parentheses, so cut at the last ')'.
        const close = stat.lastIndexOf(')')
        const comm = stat.slice(stat.indexOf('(') + 1, close)
        const ppid = Number(stat.slice(close + 2).split(' ')[1])
        table.set(Number(name), { pid: Number(name), ppid, comm })
      }),
  )
  return table
}

function isOurs(proc: Proc, table: Map<number, Proc>): boolean {
  let current: Proc | undefined = proc
  // The chain of parents ends at pid 1; the bound only guards against a malformed table.
  for (let depth = 0; current && depth < 64; depth++) {
    if (current.pid === process.pid) return true
    current = table.get(current.ppid)
  }
  return false
}

async function foreignNix(): Promise<Neighbour[]> {
  const table = await processes()
  const found: Neighbour[] = []
  for (const proc of table.values()) {
    if (!nixProgram.test(proc.comm) || isOurs(proc, table)) continue
    // A process on its way out has an empty command line; its name is still known.
    const cmdline = (await readFile(`/proc/${proc.pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim()
    found.push({ pid: proc.pid, command: (cmdline || proc.comm).slice(0, 200) })
  }
  return found
}

/** Looks for other Nix processes every intervalMs until stopped; returns each one seen, once. */
export function watchNeighbours(intervalMs = 500): { stop: () => Promise<Neighbour[]> } {
  const seen = new Map<number, Neighbour>()
  let scanning: Promise<void> = Promise.resolve()
  const scan = () => {
    scanning = scanning.then(async () => {
      // The first sighting with a full command line wins over a later one of the dying process.
      for (const neighbour of await foreignNix()) if (!seen.has(neighbour.pid)) seen.set(neighbour.pid, neighbour)
    })
  }
  scan()
  const timer = setInterval(scan, intervalMs)
  return {
    async stop() {
      clearInterval(timer)
      scan()
      await scanning
      return [...seen.values()]
    },
  }
}

/** A short description: distinct commands, the first few of them. */
export function describeNeighbours(neighbours: readonly Neighbour[], shown = 3): string {
  const commands = [...new Set(neighbours.map((n) => n.command))]
  const more = commands.length > shown ? ` (and ${commands.length - shown} more)` : ''
  return `${commands.slice(0, shown).join('; ')}${more}`
}
