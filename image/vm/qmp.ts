/**
 * A minimal QMP client (QEMU Machine Protocol, JSON lines over a Unix socket): the greeting,
 * `qmp_capabilities`, then one command at a time. Events ({"event": ...}) are kept, not awaited.
 * `savevm` / `loadvm` have no QMP command in QEMU 7.2 other than the experimental
 * `snapshot-save` / `snapshot-load` jobs, so they go through `human-monitor-command`.
 */
import { connect, type Socket } from 'node:net'

export type QmpReply = { return?: unknown; error?: { class: string; desc: string } }

export type QmpEvent = { event: string; data?: Record<string, unknown> }

export class Qmp {
  private buffer = ''
  private waiting: ((reply: QmpReply) => void)[] = []
  private listeners: ((event: QmpEvent) => void)[] = []
  readonly events: QmpEvent[] = []
  private constructor(private readonly socket: Socket) {
    // QEMU gone: whoever waits for a reply gets an error instead of waiting for ever.
    const gone = () => {
      for (const resolve of this.waiting.splice(0)) resolve({ error: { class: 'Disconnected', desc: 'the QMP socket closed' } })
    }
    socket.on('error', gone)
    socket.on('close', gone)
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString()
      let nl: number
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).trim()
        this.buffer = this.buffer.slice(nl + 1)
        if (!line) continue
        const message = JSON.parse(line) as Record<string, unknown>
        if ('event' in message) {
          this.events.push(message as QmpEvent)
          for (const listener of [...this.listeners]) listener(message as QmpEvent)
        }
        else if ('QMP' in message) continue
        else this.waiting.shift()?.(message as QmpReply)
      }
    })
  }

  /** Connects (retrying while QEMU has not made the socket yet) and negotiates capabilities. */
  static async open(path: string, attempts = 200): Promise<Qmp> {
    for (let i = 0; ; i++) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path)
          s.once('connect', () => resolve(s))
          s.once('error', reject)
        })
        const qmp = new Qmp(socket)
        await qmp.execute('qmp_capabilities')
        return qmp
      } catch (error) {
        if (i >= attempts) throw error
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  }

  execute(command: string, args?: Record<string, unknown>): Promise<QmpReply> {
    return new Promise((resolve) => {
      this.waiting.push(resolve)
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`)
    })
  }

  /** The command's return value; a QMP error becomes an exception that names the command. */
  async run(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const reply = await this.execute(command, args)
    if (reply.error) throw new Error(`QMP ${command}: ${reply.error.desc}`)
    return reply.return
  }

  /** The next event named `name` that `matches` (the events already seen do not count). */
  nextEvent(name: string, matches: (event: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const listener = (event: QmpEvent) => {
        if (event.event !== name || !matches(event)) return
        done()
        resolve(event)
      }
      const onClose = () => {
        done()
        reject(new Error(`QMP: the socket closed before ${name}`))
      }
      const done = () => {
        this.listeners = this.listeners.filter((l) => l !== listener)
        this.socket.off('close', onClose)
      }
      this.listeners.push(listener)
      this.socket.once('close', onClose)
    })
  }

  /** A human monitor command; its output text (QEMU reports HMP errors as text, not as error). */
  async hmp(commandLine: string): Promise<string> {
    const reply = await this.execute('human-monitor-command', { 'command-line': commandLine })
    if (reply.error) throw new Error(`${commandLine}: ${reply.error.desc}`)
    return String(reply.return ?? '')
  }

  close(): void {
    this.socket.end()
  }
}
