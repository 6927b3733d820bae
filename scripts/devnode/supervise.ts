/**
 * One back end at a time for a dev node, each in a session of its own, kept running: the devnet
 * and `cartenix replay` both run theirs this way.
 *
 * - A back end that dies while the node runs has its session closed: the request it held ends
 *   as an exception (what a machine that stops mid-input gives) and another starts, in a new
 *   session, for the next one.
 * - A back end whose request ran past the node's deadline holds state the node dropped (the
 *   node ended the input as TIME_LIMIT_EXCEEDED and closed its session): it is stopped, builds
 *   and all (its whole process group), and replaced the same way.
 */
import type { ChildProcess } from 'node:child_process'
import { startBackend, type BackendCommand } from './children.ts'
import type { DevNode } from './node.ts'

/** How long a back end stopped for running past its deadline has to end its builds before SIGKILL. */
const killGraceMs = 10_000

export type BackendSupervisor = {
  /** The back end running now, if any. */
  readonly child: ChildProcess | undefined
  /** For DevNodeOptions.onSessionExpired: kills the back end that holds `session`. */
  expire(session: string): void
  /** Stops the back end (SIGTERM) and starts no other; what it held stays unsettled. */
  stop(): Promise<void>
}

export function superviseBackend(args: {
  /** The node to serve; read each time a back end starts (a devnet reopens its node). */
  node: () => DevNode
  /** The rollup API's base URL; each session's back end gets `${rollupUrl}/${session}`. */
  rollupUrl: string
  env: NodeJS.ProcessEnv
  command?: BackendCommand
  log: (line: string) => void
  /** Who logs (`devnet`, `replay`). */
  label: string
  /** Called once each back end has started (the devnet records it in its owner file). */
  started?: (child: ChildProcess, url: string) => Promise<void>
}): BackendSupervisor & { start(): Promise<void> } {
  let child: ChildProcess | undefined
  let session: string | undefined
  let stopping = false

  const start = async (): Promise<void> => {
    stopping = false
    const node = args.node()
    const own = node.openSession()
    const url = `${args.rollupUrl}/${own}`
    const started = startBackend(url, args.env, args.log, args.command)
    child = started
    session = own
    started.once('exit', (code, signal) => {
      // What the back end started (nix-store and its builder) outlives a back end that was
      // killed: SIGTERM to its group ends it, and nix-store then stops its builder.
      if (started.pid !== undefined) {
        try {
          process.kill(-started.pid, 'SIGTERM')
        } catch {
          // ESRCH: nothing of the group is left.
        }
      }
      if (stopping || child !== started) return
      const reason = `the back end exited (${signal ?? `code ${code}`}) while processing this input`
      args.log(`${args.label}: ${reason}; starting another`)
      void node.closeSession(own, reason).then(start).catch((error: unknown) => args.log(`${args.label}: ${String(error)}`))
    })
    await args.started?.(started, url)
  }

  return {
    get child() {
      return child
    },
    start,
    expire(expired) {
      const current = child
      if (expired !== session || current?.pid === undefined || current.exitCode !== null || current.signalCode !== null) return
      const group = -current.pid
      const signal = (name: NodeJS.Signals) => {
        try {
          process.kill(group, name)
        } catch (error) {
          // ESRCH: the group is gone already.
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') args.log(`${args.label}: could not stop the back end that ran past its deadline: ${String(error)}`)
        }
      }
      // SIGTERM to the whole group: nix-store, on SIGTERM, kills its builder, which runs in
      // namespaces of its own and which a SIGKILL of nix-store would leave running. What is
      // still there after the grace period is killed outright.
      signal('SIGTERM')
      const kill = setTimeout(() => signal('SIGKILL'), killGraceMs)
      current.once('exit', () => clearTimeout(kill))
    },
    async stop() {
      stopping = true
      const last = child
      if (last && last.exitCode === null && last.signalCode === null) {
        const exited = new Promise((resolve) => last.once('exit', resolve))
        last.kill('SIGTERM')
        await exited
      }
    },
  }
}
