/**
 * The guest half of the rollup relay. Inside the riscv64 VM there is no network device, so the
 * back end cannot reach the rollup HTTP API on the host; this serves that API on
 * 127.0.0.1:5004 in the guest and carries every request over the virtio-serial port
 * `cartenix.rollup` to the host half (`host.ts`), which performs it and sends the answer back.
 *
 *   back end ──HTTP──▶ guest.ts ══ /dev/virtio-ports/cartenix.rollup ══▶ host.ts ──HTTP──▶ rollup API
 *
 *   node guest.mjs [--port /dev/virtio-ports/cartenix.rollup] [--listen-port 5004]
 *   node --import tsx image/vm/relay/guest.ts --port - --listen-port 0   # stdin/stdout as the port (tests)
 *
 * Settings: `--port` or CARTENIX_RELAY_PORT (a device path, or `-`), `--listen-port` or
 * CARTENIX_RELAY_LISTEN_PORT (0 picks a free port). Prints `listening on http://127.0.0.1:<port>`
 * to stderr once it serves; logs go to stderr only. Runs under Node 20 as one bundled ESM file
 * (`esbuild --bundle --platform=node --format=esm`): node: built-ins only. Expects `lo` up.
 *
 * Nothing is interpreted: method, path, end-to-end headers and body go as they came, and status,
 * headers and body come back as the host got them. Each request has its own id, so requests may
 * overlap and be answered in any order. There are no timeouts (/finish may long-poll): when the
 * host side is away a request waits, and it is re-sent when the host says hello again; the host
 * answers a re-sent id from what it already did, so nothing is performed twice while the host
 * half lives. A response that cannot be relayed (too large, malformed) becomes a 502 or 413 with
 * a JSON `{"error"}` body and the header `x-cartenix-relay-error`.
 *
 * The device behaves as Linux's virtio_console does: a write blocks while no host is connected;
 * a read returns 0 bytes (end of file) while no host is connected, so reading polls then.
 */
import { Buffer } from 'node:buffer'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { open } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import {
  FrameDecoder, describeProblem, encodeFrame, endToEndHeaders, maxBodyBytes, type Frame, type FrameProblem, type HeaderPairs, type ResponseFrame,
} from './frame.ts'

export const defaultPortPath = '/dev/virtio-ports/cartenix.rollup'
export const defaultListenPort = 5004

/** The byte stream to the host: the virtio-serial device, or this process's stdin and stdout. */
export type Port = {
  /** `down`: the host went away but may come back; `end`: it cannot come back. */
  start(events: { data(chunk: Buffer): void; down(): void; end(): void }): void
  /** Resolves once every byte is written (on the device: blocks while no host is connected). */
  write(bytes: Buffer): Promise<void>
}

export type GuestRelayOptions = {
  port: Port
  listenPort: number
  log: (line: string) => void
  /** The port ended for good (stdin closed): the relay has stopped listening. */
  onPortEnd?: () => void
  /**
   * Awaited before a verdict (`POST /finish`, `POST /exception`) goes to the host. In the VM it
   * writes the page cache to the disk: the host keeps or drops the disk at that moment
   * (image/vm/rollback.ts), so what the back end wrote must be on it, not in memory.
   */
  beforeVerdict?: () => Promise<void>
}
export type GuestRelay = { url: string; close(): Promise<void> }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** How often a read is retried while no host is connected to the port. */
const disconnectedPollMs = 100

export async function openDevicePort(path: string, log: (line: string) => void): Promise<Port> {
  // r+ opens without O_NONBLOCK: reads and writes block in libuv's thread pool, not in the event loop.
  const handle = await open(path, 'r+')
  return {
    start(events) {
      void (async function readPort() {
        const buffer = Buffer.allocUnsafe(64 * 1024)
        let connected = true
        for (;;) {
          let bytesRead: number
          try {
            ;({ bytesRead } = await handle.read(buffer, 0, buffer.length, null))
          } catch (error) {
            log(`reading ${path} failed: ${(error as Error).message}; retrying`)
            await sleep(1000)
            continue
          }
          if (bytesRead === 0) {
            if (connected) events.down()
            connected = false
            await sleep(disconnectedPollMs)
            continue
          }
          connected = true
          events.data(Buffer.from(buffer.subarray(0, bytesRead)))
        }
      })()
    },
    async write(bytes) {
      // virtio_console takes at most 32 KiB per write(2): loop until all of it is through.
      for (let offset = 0; offset < bytes.length; ) {
        const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, null)
        offset += bytesWritten
      }
    },
  }
}

export function stdioPort(): Port {
  return {
    start(events) {
      process.stdin.on('data', (chunk: Buffer) => events.data(chunk))
      process.stdin.on('end', () => events.end())
      process.stdin.on('error', () => events.end())
    },
    write(bytes) {
      return new Promise((resolve, reject) => {
        process.stdout.write(bytes, (error) => (error ? reject(error) : resolve()))
      })
    },
  }
}

type Pending = {
  frame: Buffer
  /** queued: not yet handed to the port; sent: handed over (it may still be lost if the host goes away). */
  state: 'queued' | 'sent'
  answer(frame: ResponseFrame): void
}

export async function startGuestRelay(options: GuestRelayOptions): Promise<GuestRelay> {
  const { port, log } = options
  const nonce = randomBytes(6).toString('hex')
  let counter = 0
  const pending = new Map<string, Pending>()

  let tail: Promise<void> = Promise.resolve()
  function send(bytes: Buffer, onStart?: () => void): void {
    tail = tail.then(async () => {
      onStart?.()
      try {
        await port.write(bytes)
      } catch (error) {
        // An unanswered request stays pending and goes again after the next hello.
        log(`writing to the port failed: ${(error as Error).message}`)
      }
    })
  }
  function sendRequest(entry: Pending): void {
    entry.state = 'queued'
    send(entry.frame, () => {
      entry.state = 'sent'
    })
  }

  const decoder = new FrameDecoder({
    onFrame(frame: Frame) {
      switch (frame.t) {
        case 'res': {
          // Acknowledged even when unknown: a re-sent request may be answered twice.
          send(encodeFrame({ t: 'ack', id: frame.id }))
          const entry = pending.get(frame.id)
          if (!entry) return
          pending.delete(frame.id)
          entry.answer(frame)
          return
        }
        case 'hello': {
          // Whatever was handed to an earlier connection may be lost; what is still queued goes out anyway.
          const resend = [...pending].filter(([, entry]) => entry.state === 'sent')
          log(`host bridge ${frame.bridge} connected${resend.length ? `; re-sending ${resend.length} unanswered request(s)` : ''}`)
          for (const [, entry] of resend) sendRequest(entry)
          return
        }
        case 'req':
        case 'ack':
          log(`ignored a ${frame.t} frame: only the guest sends those`)
          return
        default:
          return assertNever(frame)
      }
    },
    onProblem(problem: FrameProblem) {
      log(describeProblem(problem))
      // A response for a known request that cannot be read: answer it rather than leave it hanging.
      const entry = problem.t === 'res' && problem.id ? pending.get(problem.id) : undefined
      if (entry && problem.id) {
        pending.delete(problem.id)
        send(encodeFrame({ t: 'ack', id: problem.id }))
        entry.answer(relayError(502, 'malformed-response', `the host's response could not be read: ${problem.message}`))
      }
    },
  })

  const server = createServer((request, response) => {
    void relay(request, response).catch((error: unknown) => {
      log(`relaying ${request.method} ${request.url} failed: ${(error as Error).stack ?? String(error)}`)
      if (!response.headersSent) answer(response, request.method, relayError(500, 'internal', (error as Error).message))
      else response.destroy()
    })
  })
  // No timeouts: /finish may wait as long as the host side waits.
  server.requestTimeout = 0
  server.headersTimeout = 0

  async function relay(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request, maxBodyBytes)
    if (body === null) {
      answer(response, request.method, relayError(413, 'too-large', `a request body larger than ${maxBodyBytes} bytes cannot be relayed`))
      return
    }
    if (options.beforeVerdict && request.method === 'POST' && /^\/(finish|exception)\/?(\?|$)/.test(request.url ?? '')) await options.beforeVerdict()
    const id = `${nonce}-${++counter}`
    const entry: Pending = {
      frame: encodeFrame({ t: 'req', id, method: request.method ?? 'GET', path: request.url ?? '/', headers: endToEndHeaders(request.rawHeaders), body }),
      state: 'queued',
      answer: (frame) => answer(response, request.method, frame),
    }
    pending.set(id, entry)
    response.on('close', () => {
      if (pending.delete(id)) log(`the client of ${request.method} ${request.url} went away before its answer; it will not be re-sent`)
    })
    sendRequest(entry)
  }

  port.start({
    data: (chunk) => decoder.push(chunk),
    down: () => decoder.reset(),
    end: () => {
      log('the port was closed for good; stopping')
      server.close()
      server.closeAllConnections()
      options.onPortEnd?.()
    },
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.listenPort, '127.0.0.1', () => resolve())
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}

function answer(response: ServerResponse, method: string | undefined, frame: ResponseFrame): void {
  if (response.destroyed) return
  const headers: HeaderPairs = [...frame.headers]
  // The body is whole: say its length instead of chunking (not for statuses that have no body).
  if (frame.status !== 204 && frame.status !== 304 && method !== 'HEAD') headers.push(['content-length', String(frame.body.length)])
  response.sendDate = false
  response.writeHead(frame.status, headers.flat())
  response.end(method === 'HEAD' ? undefined : frame.body)
}

function relayError(status: number, code: string, message: string): ResponseFrame {
  return {
    t: 'res',
    id: '-',
    status,
    headers: [['content-type', 'application/json'], ['x-cartenix-relay-error', code]],
    body: Buffer.from(JSON.stringify({ error: `relay: ${message}` })),
  }
}

/** The whole body, or null once it passes `limit` (the rest is drained, not kept). */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    let length = 0
    request.on('data', (chunk: Buffer) => {
      length += chunk.length
      if (length <= limit) parts.push(chunk)
      else parts.length = 0
    })
    request.on('end', () => resolve(length <= limit ? Buffer.concat(parts, length) : null))
    request.on('error', reject)
  })
}

function assertNever(value: never): never {
  throw new Error(`Unhandled frame: ${JSON.stringify(value)}`)
}

export class RelaySettingsError extends Error {
  override name = 'RelaySettingsError' as const
}

export function parseGuestSettings(argv: string[], env: NodeJS.ProcessEnv): { portPath: string; listenPort: number } {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' }, 'listen-port': { type: 'string' } }, strict: true })
  const portPath = values.port ?? env.CARTENIX_RELAY_PORT ?? defaultPortPath
  const listen = values['listen-port'] ?? env.CARTENIX_RELAY_LISTEN_PORT ?? String(defaultListenPort)
  if (!/^\d{1,5}$/.test(listen) || Number(listen) > 65535) throw new RelaySettingsError(`--listen-port (CARTENIX_RELAY_LISTEN_PORT): a TCP port from 0 to 65535, not ${JSON.stringify(listen)}`)
  if (portPath === '') throw new RelaySettingsError('--port (CARTENIX_RELAY_PORT): a device path, or - for stdin and stdout')
  return { portPath, listenPort: Number(listen) }
}

/** sync(2), through the system's `sync` (Node has no binding for it). */
function syncDisks(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('sync', (error) => (error ? reject(new Error(`sync failed: ${error.message}`)) : resolve()))
  })
}

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`[relay] ${line}\n`)
  let settings: ReturnType<typeof parseGuestSettings>
  try {
    settings = parseGuestSettings(process.argv.slice(2), process.env)
  } catch (error) {
    log((error as Error).message)
    process.exit(2)
  }
  const port = settings.portPath === '-' ? stdioPort() : await openDevicePort(settings.portPath, log)
  const device = settings.portPath !== '-'
  const relay = await startGuestRelay({ port, listenPort: settings.listenPort, log, onPortEnd: () => process.exit(0), ...(device ? { beforeVerdict: syncDisks } : {}) })
  log(`listening on ${relay.url}, relaying over ${settings.portPath === '-' ? 'stdin/stdout' : settings.portPath}`)
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0))
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main().catch((error: unknown) => {
    process.stderr.write(`[relay] ${(error as Error).stack ?? String(error)}\n`)
    process.exit(1)
  })
}
