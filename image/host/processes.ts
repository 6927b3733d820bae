/**
 * The devnet's processes, as Linux sees them in /proc. A process is named by its pid and its start
 * time (clock ticks after boot, field 22 of /proc/<pid>/stat), so that a pid the kernel handed
 * to someone else is never mistaken for the process that once had it.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'

export type ProcessId = { pid: number; startTime: number }

export type ProcessInfo = ProcessId & { ppid: number; pgid: number; command: string }

const gone = (error: NodeJS.ErrnoException) => {
  if (error.code === 'ENOENT' || error.code === 'ESRCH') return undefined
  throw error
}

/** A living process (zombies count as gone), or undefined. */
export async function processInfo(pid: number): Promise<ProcessInfo | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(gone)
  if (stat === undefined) return undefined
  // The command name in parentheses may itself hold spaces and parentheses: fields follow the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const [state, ppid, pgid] = fields
  if (state === 'Z' || state === 'X') return undefined
  const cmdline = await readFile(`/proc/${pid}/cmdline`).catch(gone)
  const command = cmdline?.toString('utf8').split('\0').filter(Boolean).join(' ') ?? ''
  return { pid, startTime: Number(fields[19]), ppid: Number(ppid), pgid: Number(pgid), command }
}

/** Every living process. */
export async function listProcesses(): Promise<ProcessInfo[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number)
  const infos = await Promise.all(pids.map(processInfo))
  return infos.filter((info): info is ProcessInfo => info !== undefined)
}

export async function isAlive(process: ProcessId): Promise<boolean> {
  return (await processInfo(process.pid))?.startTime === process.startTime
}

export async function self(): Promise<ProcessInfo> {
  const info = await processInfo(process.pid)
  if (!info) throw new Error('/proc does not show this process: the devnet needs Linux with /proc mounted')
  return info
}

/** How the kernel tells a tied child that its parent died: TERM lets it clean up, KILL does not wait. */
export type DeathSignal = 'TERM' | 'KILL'

/**
 * Starts a program in a session and process group of its own (so that it and everything it starts
 * can be found and stopped together), through util-linux's setpriv, which asks the kernel
 * (PR_SET_PDEATHSIG) to send it `deathSignal` when this process dies, however it dies. The
 * setting survives setpriv's exec of the program; it is not inherited by the program's own
 * children, which is why the group matters.
 */
export function spawnTied(file: string, args: readonly string[], options: SpawnOptions & { deathSignal: DeathSignal }): ChildProcess {
  const { deathSignal, ...rest } = options
  return spawn('setpriv', ['--pdeathsig', deathSignal, '--', file, ...args], { ...rest, detached: true })
}

/** A child the devnet started, as recorded in its lock file: the process and the group it leads. */
export type ChildId = ProcessId & { pgid: number }

/**
 * What is left of recorded children: the child itself if it still runs, and the members of its
 * process group that started no earlier than it did (a group number is not reused while the group
 * has members, and the start time keeps an unrelated later group of the same number out).
 */
export async function survivorsOf(children: readonly ChildId[]): Promise<ProcessInfo[]> {
  const me = await self()
  return (await listProcesses()).filter(
    (p) =>
      p.pid !== me.pid &&
      children.some(
        (c) => (p.pid === c.pid && p.startTime === c.startTime) || (c.pgid === c.pid && c.pgid !== me.pgid && p.pgid === c.pgid && p.startTime >= c.startTime),
      ),
  )
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const signal = (pid: number, name: NodeJS.Signals) => {
  try {
    process.kill(pid, name)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
  }
}

export type StoppedProcess = ProcessInfo & { signal: 'SIGTERM' | 'SIGKILL' }

/**
 * Stops what `find` returns, asked again until it returns nothing: SIGTERM first (anvil writes its
 * state, nix-store stops its build), SIGKILL to what is still there after `graceMs`. Returns every
 * process it signalled, with the last signal sent.
 */
export async function stopProcesses(find: () => Promise<ProcessInfo[]>, graceMs = 10_000): Promise<StoppedProcess[]> {
  const stopped = new Map<string, StoppedProcess>()
  const start = Date.now()
  for (;;) {
    const alive = await find()
    if (alive.length === 0) return [...stopped.values()]
    const late = Date.now() - start > graceMs
    if (Date.now() - start > graceMs + 10_000) {
      throw new Error(`Could not stop ${alive.map((p) => `pid ${p.pid} (${p.command})`).join(', ')} even with SIGKILL`)
    }
    for (const p of alive) {
      const key = `${p.pid}@${p.startTime}`
      const sent = stopped.get(key)?.signal
      const next = late ? 'SIGKILL' : 'SIGTERM'
      if (sent === next) continue
      signal(p.pid, next)
      stopped.set(key, { ...p, signal: next })
    }
    await sleep(100)
  }
}
