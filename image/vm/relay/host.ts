/**
 * The host half of the rollup relay: reads the framed requests that the guest half (`guest.ts`)
 * sends over the VM's virtio-serial port, performs each against the rollup HTTP API on the host
 * (the dev node's URL, session token included) and writes the framed answers back. See
 * `frame.ts` for the wire format.
 *
 *   const relay = connectRelay({ socketPath: '/…/port.sock', baseUrl: 'http://127.0.0.1:5004/<token>', log })
 *   …                                      // QEMU started with -chardev socket,path=/…/port.sock,server=on,wait=off
 *   await relay.stop()                     // when the VM is gone
 *
 * `createRelayHost` works on any Duplex (a socket, a child process's stdio in the tests);
 * `connectRelay` connects it to QEMU's Unix socket, retrying until QEMU has made the socket, and
 * connects again whenever the socket closes, until `stop()`.
 *
 * Nothing is performed twice while one relay host lives: on every (re)attachment it says hello,
 * the guest re-sends what it has not had an answer to, and a re-sent id is answered from the
 * request already running or already done (answers are kept until the guest acknowledges them).
 * That matters: `/finish` is not idempotent (a second `accept` would finish the next input). A
 * new relay host knows nothing of an earlier one's requests; those run again if re-sent.
 *
 * Requests go out with node:http rather than fetch: fetch (undici) gives up on a response whose
 * headers take more than 300 s, while a long-polled /finish may take longer; node:http has no
 * timeout of its own, and it hands over the body and headers untouched (fetch would decode a
 * compressed body). Failures to reach the API come back as 502 with a JSON `{"error"}` body and
 * the header `x-cartenix-relay-error`; a path that would leave the base URL's prefix (`/../`)
 * gets 400. Library code: it prints nothing, everything worth saying goes to `log`.
 */
import { Buffer } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import {
  FrameDecoder, describeProblem, encodeFrame, endToEndHeaders, maxBodyBytes, type Frame, type FrameProblem, type RequestFrame, type ResponseFrame,
} from './frame.ts'

export type RelayHostOptions = {
  /** The rollup HTTP API on the host, path prefix included, e.g. `http://127.0.0.1:5004/<session-token>`. */
  baseUrl: string
  log: (line: string) => void
  /** Answers kept for a re-sent request until the guest acknowledges them (oldest dropped first). Default 64. */
  maxUnacknowledged?: number
  /**
   * Sees each request before it is performed, and may replace it, or hold it (`undefined`) until
   * the relay host stops, unanswered. What the VM's rollback (../rollback.ts) hooks into. If it
   * throws, the guest gets a 502 that says why.
   */
  beforeRequest?: (request: RequestFrame) => Promise<RequestFrame | undefined>
  /** Sees each answer the rollup API gave (not the relay's own errors), before the guest does. */
  afterResponse?: (request: RequestFrame, answer: RelayAnswer) => void
}

export type RelayAttachment = {
  /** Stops reading and writing the stream; it is neither ended nor destroyed. */
  detach(): void
  /** Resolves when the attachment ends: detached, or the stream ended, closed or failed. */
  closed: Promise<void>
}

export type RelayHost = {
  /** Serves the guest on `stream` (one stream at a time: attaching detaches the previous one). */
  attach(stream: Duplex): RelayAttachment
  /** Detaches, aborts the requests still running, and waits for them to settle. */
  stop(): Promise<void>
}

export class RelayHostError extends Error {
  override name = 'RelayHostError' as const
}

export type RelayAnswer = Omit<ResponseFrame, 't' | 'id'>
type Answer = RelayAnswer
type Entry = { answer?: Buffer; abort: AbortController; done: Promise<void> }

export function createRelayHost(options: RelayHostOptions): RelayHost {
  const { log } = options
  const base = parseBaseUrl(options.baseUrl)
  const basePath = base.pathname.replace(/\/$/, '')
  const client = base.protocol === 'https:' ? https : http
  const agent = new client.Agent({ keepAlive: true })
  const maxUnacknowledged = options.maxUnacknowledged ?? 64
  const bridge = randomBytes(6).toString('hex')
  const entries = new Map<string, Entry>()
  let current: { write(bytes: Buffer): void; detach(): void } | undefined
  let stopped = false

  const send = (bytes: Buffer) => current?.write(bytes)

  function onFrame(frame: Frame): void {
    switch (frame.t) {
      case 'req': {
        const entry = entries.get(frame.id)
        // Re-sent: answer from what is done; what still runs answers when it is done.
        if (entry) {
          if (entry.answer) send(entry.answer)
          return
        }
        run(frame)
        return
      }
      case 'ack':
        if (entries.get(frame.id)?.answer) entries.delete(frame.id)
        return
      case 'res':
      case 'hello':
        log(`ignored a ${frame.t} frame: only the host sends those`)
        return
      default:
        assertNever(frame)
    }
  }

  function onProblem(problem: FrameProblem): void {
    log(describeProblem(problem))
    // A request that names itself but cannot be read gets an answer, so that it does not wait forever.
    if (problem.t === 'req' && problem.id) send(encodeFrame({ t: 'res', id: problem.id, ...relayError(502, 'malformed-request', `the request frame could not be read: ${problem.message}`) }))
  }

  function run(frame: RequestFrame): void {
    const abort = new AbortController()
    const entry: Entry = { abort, done: Promise.resolve() }
    entries.set(frame.id, entry)
    entry.done = forward(frame, abort.signal).then((answer) => {
      if (stopped || answer === undefined) return
      entry.answer = encodeFrame({ t: 'res', id: frame.id, ...answer })
      forgetOldAnswers()
      send(entry.answer)
    })
  }

  function forgetOldAnswers(): void {
    let answered = 0
    for (const entry of entries.values()) if (entry.answer) answered++
    for (const [id, entry] of entries) {
      if (answered <= maxUnacknowledged) return
      if (entry.answer) {
        entries.delete(id)
        answered--
      }
    }
  }

  /** The request through the hooks: the API's answer, or undefined for a request held until `stop()`. */
  async function forward(frame: RequestFrame, signal: AbortSignal): Promise<Answer | undefined> {
    let request: RequestFrame | undefined = frame
    if (options.beforeRequest) {
      try {
        request = await options.beforeRequest(frame)
      } catch (error) {
        log(`${frame.method} ${frame.path}: ${(error as Error).message}`)
        return relayError(502, 'machine', `${frame.method} ${frame.path} was not performed: ${(error as Error).message}`)
      }
    }
    if (request === undefined) {
      await new Promise((resolve) => (signal.aborted ? resolve(undefined) : signal.addEventListener('abort', resolve, { once: true })))
      return undefined
    }
    const answer = await perform(request, signal)
    if (!answer.headers.some(([name]) => name === 'x-cartenix-relay-error')) options.afterResponse?.(request, answer)
    return answer
  }

  function perform(frame: RequestFrame, signal: AbortSignal): Promise<Answer> {
    const path = `${basePath}${frame.path}`
    const target = new URL(path, base.origin)
    if (basePath !== '' && target.pathname !== basePath && !target.pathname.startsWith(`${basePath}/`)) {
      return Promise.resolve(relayError(400, 'path-escapes-base', `${frame.path} leads out of ${basePath}/`))
    }
    const headers = ['host', base.host, ...frame.headers.flat()]
    if (frame.body.length > 0 || !['GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE'].includes(frame.method.toUpperCase())) headers.push('content-length', String(frame.body.length))
    const described = `${frame.method} ${base.origin}${path}`
    return new Promise<Answer>((resolve) => {
      let settled = false
      const settle = (answer: Answer) => {
        if (settled) return
        settled = true
        resolve(answer)
      }
      // The path goes as the guest wrote it (checked above in its normalised form).
      const request = client.request({ protocol: base.protocol, hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'), port: base.port || undefined, path, method: frame.method, headers, agent, signal })
      request.on('error', (error: NodeJS.ErrnoException) => settle(relayError(502, 'unreachable', `${described} failed: ${error.code ?? error.message}`)))
      request.on('response', (response) => {
        const parts: Buffer[] = []
        let length = 0
        response.on('data', (chunk: Buffer) => {
          length += chunk.length
          if (length <= maxBodyBytes) parts.push(chunk)
          else {
            response.destroy()
            settle(relayError(502, 'too-large', `${described} answered with more than ${maxBodyBytes} bytes`))
          }
        })
        response.on('error', (error: NodeJS.ErrnoException) => settle(relayError(502, 'unreachable', `${described}: the response broke off: ${error.code ?? error.message}`)))
        response.on('end', () => {
          const status = response.statusCode ?? 0
          if (status < 200 || status > 599) settle(relayError(502, 'bad-status', `${described} answered with status ${status}`))
          else settle({ status, headers: endToEndHeaders(response.rawHeaders), body: Buffer.concat(parts, length) })
        })
      })
      request.end(frame.body)
    })
  }

  return {
    attach(stream) {
      if (stopped) throw new RelayHostError('This relay host was stopped')
      current?.detach()
      const decoder = new FrameDecoder({ onFrame, onProblem })
      let resolveClosed!: () => void
      const closed = new Promise<void>((resolve) => {
        resolveClosed = resolve
      })
      const onData = (chunk: Buffer) => decoder.push(chunk)
      const onEnd = () => attachment.detach()
      // Stays on the stream after a detach: a write that fails late must not become an uncaught error.
      const onError = (error: Error) => {
        log(`the port stream failed: ${error.message}`)
        if (current === attachment) attachment.detach()
      }
      const attachment = {
        write(bytes: Buffer) {
          if (!stream.destroyed && stream.writable) stream.write(bytes)
        },
        detach() {
          if (current === attachment) current = undefined
          stream.off('data', onData)
          stream.off('end', onEnd)
          stream.off('close', onEnd)
          if (!stream.destroyed) stream.pause()
          resolveClosed()
        },
      }
      stream.on('data', onData)
      stream.on('end', onEnd)
      stream.on('close', onEnd)
      stream.on('error', onError)
      stream.resume()
      current = attachment
      attachment.write(encodeFrame({ t: 'hello', bridge }))
      return { detach: attachment.detach, closed }
    },
    async stop() {
      if (stopped) return
      stopped = true
      current?.detach()
      for (const entry of entries.values()) entry.abort.abort()
      await Promise.allSettled([...entries.values()].map((entry) => entry.done))
      entries.clear()
      agent.destroy()
    },
  }
}

export type ConnectRelayOptions = RelayHostOptions & {
  /** QEMU's end of the virtio-serial port: `-chardev socket,path=<socketPath>,server=on,wait=off`. */
  socketPath: string
}

export type RelayConnection = {
  /** Whether a socket is connected right now. */
  readonly connected: boolean
  /** Stops reconnecting, closes the socket, stops the relay host. */
  stop(): Promise<void>
}

const firstRetryMs = 50
const maxRetryMs = 1000

/**
 * Serves the guest through QEMU's Unix socket: connects as soon as the socket accepts (QEMU makes
 * it when it starts), and again whenever it closes, until `stop()` (call it when QEMU exits).
 * One relay host serves every connection, so a request running across a reconnection is
 * answered once, from its first run.
 */
export function connectRelay(options: ConnectRelayOptions): RelayConnection {
  const { socketPath, log } = options
  const host = createRelayHost(options)
  let stopped = false
  let socket: net.Socket | undefined
  let timer: NodeJS.Timeout | undefined
  let delay = firstRetryMs
  let reportedFailure = false

  function connect(): void {
    timer = undefined
    if (stopped) return
    const attempt = net.createConnection(socketPath)
    socket = attempt
    let attached = false
    attempt.once('connect', () => {
      if (stopped) return void attempt.destroy()
      log(`connected to ${socketPath}`)
      delay = firstRetryMs
      reportedFailure = false
      attached = true
      host.attach(attempt)
    })
    attempt.on('error', (error: NodeJS.ErrnoException) => {
      if (attached) log(`${socketPath}: ${error.message}`)
      else if (!reportedFailure) {
        // Once per run of failures: QEMU may take seconds to make the socket.
        log(`cannot connect to ${socketPath} yet (${error.code ?? error.message}); retrying until it accepts`)
        reportedFailure = true
      }
    })
    attempt.once('close', () => {
      if (socket === attempt) socket = undefined
      if (stopped) return
      if (attached) log(`${socketPath} closed; reconnecting`)
      timer = setTimeout(connect, delay)
      delay = Math.min(delay * 2, maxRetryMs)
    })
  }
  connect()

  return {
    get connected() {
      return socket !== undefined && !socket.connecting && !socket.destroyed
    },
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await host.stop()
      socket?.destroy()
    },
  }
}

function parseBaseUrl(baseUrl: string): URL {
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch (cause) {
    throw new RelayHostError(`The rollup API base URL is not a URL: ${JSON.stringify(baseUrl)}`, { cause })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RelayHostError(`The rollup API base URL must be http or https: ${baseUrl}`)
  if (url.search || url.hash) throw new RelayHostError(`The rollup API base URL may have a path prefix but no query or fragment: ${baseUrl}`)
  return url
}

function relayError(status: number, code: string, message: string): Answer {
  return {
    status,
    headers: [['content-type', 'application/json'], ['x-cartenix-relay-error', code]],
    body: Buffer.from(JSON.stringify({ error: `relay: ${message}` })),
  }
}

function assertNever(value: never): never {
  throw new Error(`Unhandled frame: ${JSON.stringify(value)}`)
}
