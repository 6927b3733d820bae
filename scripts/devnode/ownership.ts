/**
 * One devnet (or one validator) per state directory. `devnet.owner` (`validator.owner`) in the
 * directory names the holder (pid and start time, ports, command line) and the processes it
 * started (anvil, the back end), each with its start time and process group. A holder that dies
 * without stopping (SIGKILL, the OOM killer) leaves the file behind; the next one on the
 * directory reads it, stops whatever of those processes is still running (a back end's nix-store
 * and its build outlive a SIGKILL), and takes over.
 *
 * The file says who holds the directory; the kernel decides who gets it: the holder also listens
 * on an abstract Unix socket named after the directory, which only one process can do and which
 * the kernel closes when the holder dies (it is not inherited by children). So two devnets
 * started at the same moment on a dead holder's directory cannot both take over.
 */
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, realpath, rename, unlink, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { z } from 'zod'
import { CartenixError } from '../../dapp/lib/errors.ts'
import { isAlive, processInfo, self, stopProcesses, survivorsOf, type ProcessId, type ProcessInfo } from '../../image/host/processes.ts'

/** Who holds a state directory: a devnet, or a Quorum's validator (`cartenix validator`). */
export type Holder = 'devnet' | 'validator'

export const ownerFileOf = (holder: Holder) => `${holder}.owner`
export const ownerFileName = ownerFileOf('devnet')

const count = z.number().int().nonnegative()

export const childRecord = z.object({
  role: z.enum(['anvil', 'backend']),
  pid: count,
  startTime: count,
  pgid: count,
  command: z.string(),
  /** The back end's ROLLUP_HTTP_SERVER_URL, with its session. */
  rollupUrl: z.string().optional(),
})
export type ChildRecord = z.infer<typeof childRecord>

export const portsRecord = z.object({ chain: count, rollup: count, node: count })
export type PortsRecord = z.infer<typeof portsRecord>

export const ownerRecord = z.object({
  version: z.literal(1),
  pid: count,
  startTime: count,
  command: z.string(),
  startedAt: z.string(),
  /** null until the devnet has chosen them (a validator records none). */
  ports: portsRecord.nullable(),
  children: z.array(childRecord),
})
export type OwnerRecord = z.infer<typeof ownerRecord>

/** Another devnet (validator) holds the state directory. */
export class StateDirTakenError extends CartenixError {
  override name = 'StateDirTakenError' as const
  readonly dir: string
  readonly holder: OwnerRecord | undefined
  constructor(args: { dir: string; holder: OwnerRecord | undefined; kind?: Holder }) {
    const { dir, holder, kind = 'devnet' } = args
    super(
      holder
        ? `${dir} is in use by the ${kind} with pid ${holder.pid} (started ${holder.startedAt}; ${describePorts(holder.ports)}; command: ${holder.command}). ` +
            `Stop it with \`kill ${holder.pid}\` (it stops ${kind === 'devnet' ? 'its anvil and back end and saves the chain' : 'its back end'}), or use another directory.`
        : `${dir} is in use by another ${kind} that is still starting (${join(dir, ownerFileOf(kind))} does not name it yet). Try again, or use another directory.`,
    )
    this.dir = dir
    this.holder = holder
  }
}

const describePorts = (ports: PortsRecord | null) =>
  ports ? `chain on port ${ports.chain}, rollup API on ${ports.rollup}, node on ${ports.node}` : 'ports not chosen yet'

export type StateDirOwnership = {
  /** The owner file. */
  path: string
  setPorts: (ports: PortsRecord) => Promise<void>
  /** Records a started child (its start time and group read from /proc); false if it has already exited. */
  addChild: (child: Omit<ChildRecord, 'startTime' | 'pgid'>) => Promise<boolean>
  removeChild: (pid: number) => Promise<void>
  /** Records a started child for as long as it runs (a failure to record is logged, not thrown). */
  track: (child: ChildProcess, record: Omit<ChildRecord, 'pid' | 'startTime' | 'pgid'>) => Promise<void>
  /** Removes the owner file and lets go of the directory. */
  release: () => Promise<void>
}

async function readOwner(path: string): Promise<OwnerRecord | undefined> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    throw error
  })
  if (text === undefined) return undefined
  const parsed = ownerRecord.safeParse(JSON.parse(text))
  if (!parsed.success) throw new Error(`${path} is not an owner file: ${parsed.error.message}`)
  return parsed.data
}

/** Listens on the directory's abstract socket; false if another process already does. */
async function claim(dir: string, kind: Holder): Promise<Server | undefined> {
  const name = `\0cartenix-${kind}-${createHash('sha256').update(await realpath(dir)).digest('hex')}`
  const server = createServer((socket) => socket.destroy())
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(undefined) : reject(error)))
    server.listen({ path: name }, () => resolve(server))
  })
}

const describeProcess = (p: ProcessInfo) => `pid ${p.pid} (${p.command.length > 160 ? `${p.command.slice(0, 160)}…` : p.command})`

/**
 * Takes the state directory for this process, or throws StateDirTakenError naming the holder. When
 * the previous holder died without stopping, the processes it left behind (its anvil, its back
 * end and what that started, such as a nix-store build) are stopped first, and each is logged.
 */
export async function takeStateDir(dir: string, log: (line: string) => void = () => {}, kind: Holder = 'devnet'): Promise<StateDirOwnership> {
  const path = join(dir, ownerFileOf(kind))
  const server = await claim(dir, kind)
  if (!server) throw new StateDirTakenError({ dir, kind, holder: await readOwner(path).catch(() => undefined) })
  try {
    const me = await self()
    let previous: OwnerRecord | undefined
    try {
      previous = await readOwner(path)
    } catch (error) {
      log(`${kind}: ignoring ${path}: ${(error as Error).message}`)
    }
    // A holder that is not listening on the socket (another network namespace, an older devnet) still counts while it lives.
    if (previous && previous.pid !== me.pid && (await isAlive(previous))) throw new StateDirTakenError({ dir, kind, holder: previous })
    if (previous && previous.children.length > 0) {
      const stopped = await stopProcesses(() => survivorsOf(previous.children))
      const what = stopped.length === 0 ? 'none of its processes was still running' : `stopping ${stopped.length} process(es) it left running`
      log(`${kind}: ${dir} was held by the ${kind} with pid ${previous.pid}, which is gone; ${what}`)
      for (const p of stopped) log(`${kind}: stopped ${describeProcess(p)} with ${p.signal}`)
    }
    return await recordOwner(path, server, me, (line) => log(`${kind}: ${line}`))
  } catch (error) {
    server.close()
    throw error
  }
}

async function recordOwner(path: string, server: Server, me: ProcessId, log: (line: string) => void): Promise<StateDirOwnership> {
  const record: OwnerRecord = {
    version: 1,
    pid: me.pid,
    startTime: me.startTime,
    command: process.argv.join(' '),
    startedAt: new Date().toISOString(),
    ports: null,
    children: [],
  }
  let writes = 0
  let writing: Promise<void> = Promise.resolve()
  let released = false
  // One write at a time, each to a fresh file renamed over the owner file: a reader never sees half a record.
  const save = () => {
    const next = writing.then(async () => {
      if (released) return
      const temporary = `${path}.${me.pid}.${++writes}.tmp`
      await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`)
      await rename(temporary, path)
    })
    writing = next.catch((error: unknown) => log(`could not write ${path}: ${String(error)}`))
    return next
  }
  await save()
  const addChild: StateDirOwnership['addChild'] = async (child) => {
    const info = await processInfo(child.pid)
    if (!info) return false
    record.children.push({ ...child, startTime: info.startTime, pgid: info.pgid })
    await save()
    return true
  }
  const removeChild = async (pid: number) => {
    record.children = record.children.filter((c) => c.pid !== pid)
    await save()
  }
  return {
    path,
    setPorts: async (ports) => {
      record.ports = ports
      await save()
    },
    addChild,
    removeChild,
    track: async (child, what) => {
      const pid = child.pid
      if (pid === undefined) return
      const added = await addChild({ ...what, pid }).catch((error: unknown) => {
        log(`could not record the ${what.role} in ${path}: ${String(error)}`)
        return false
      })
      if (!added) return
      const remove = () => void removeChild(pid).catch((error: unknown) => log(String(error)))
      if (child.exitCode !== null || child.signalCode !== null) remove()
      else child.once('exit', remove)
    },
    release: async () => {
      await writing
      released = true
      await unlink(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error
      })
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
