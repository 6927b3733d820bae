/**
 * Framing for the rollup relay: how HTTP requests and responses cross the VM's virtio-serial
 * port (`cartenix.rollup`), a plain byte stream, between the guest half (`guest.ts`) and the host
 * half (`host.ts`). Imported by both; node: built-ins only, because the guest runs it bundled.
 *
 * Wire format: one JSON object per line, written as `\n{...}\n` in ASCII, bodies base64-encoded.
 *
 *   guest → host  {"t":"req","id":"…","method":"POST","path":"/finish","headers":[["content-type","application/json"]],"body":"<base64>"}
 *   host → guest  {"t":"res","id":"…","status":200,"headers":[["content-type","application/json"]],"body":"<base64>"}
 *   host → guest  {"t":"hello","bridge":"…"}   sent on every (re)connection: the guest re-sends what is unanswered
 *   guest → host  {"t":"ack","id":"…"}          the guest has the response: the host may forget it
 *
 * Why lines of JSON rather than length-prefixed binary frames: a newline can never occur inside
 * a frame (JSON escapes it, base64 has none), so the stream resynchronises by itself. Whatever a
 * reconnection or a bug leaves behind (a frame cut in half, random bytes) spoils at most the line
 * it is on; the leading newline of the next frame ends that line, so even a truncated frame costs
 * only itself, never the frame after it. A length prefix read from garbage would instead announce
 * gigabytes and stall the stream, and recovering needs magic markers and checksums, i.e. the same
 * idea done by hand. Base64 rather than hex: bodies (hex-in-JSON payloads of up to 2 MiB, so
 * about 4 MiB) grow by a third instead of doubling, and Node decodes both natively. Lines are
 * capped (`maxFrameBytes`) so garbage without a newline cannot grow a buffer without bound.
 *
 * Frames are checked by hand, not with zod, so the guest bundle stays small and free of npm
 * code; `parseFrame` still returns a value with a literal `code` instead of throwing.
 */
import { Buffer } from 'node:buffer'

/** Largest body either side relays: the 2 MiB I/O buffer as hex inside JSON is about 4 MiB; twice that for headroom. */
export const maxBodyBytes = 8 * 1024 * 1024
/** Largest line accepted: a `maxBodyBytes` body in base64 (4/3) plus room for headers and ids. */
export const maxFrameBytes = 12 * 1024 * 1024

/** Header names and values in order, duplicates kept (`set-cookie` twice stays twice). */
export type HeaderPairs = Array<[name: string, value: string]>

export type RequestFrame = { t: 'req'; id: string; method: string; path: string; headers: HeaderPairs; body: Buffer }
export type ResponseFrame = { t: 'res'; id: string; status: number; headers: HeaderPairs; body: Buffer }
export type HelloFrame = { t: 'hello'; bridge: string }
export type AckFrame = { t: 'ack'; id: string }
export type Frame = RequestFrame | ResponseFrame | HelloFrame | AckFrame

export type FrameProblemCode = 'too-long' | 'not-json' | 'not-a-frame' | 'unknown-type' | 'invalid-field'

/** A line that is not a frame. `id` and `t` are set when the line got far enough to name them. */
export type FrameProblem = { code: FrameProblemCode; message: string; id?: string; t?: string }

export type ParseFrameResult = { ok: true; frame: Frame } | { ok: false; problem: FrameProblem }

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus `host` and
 * `content-length`, which each side sets for its own hop. They are not relayed.
 */
export const hopByHopHeaders: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'host', 'content-length',
])

/** Node's `rawHeaders` (name, value, name, value, …) as pairs, without hop-by-hop headers. */
export function endToEndHeaders(rawHeaders: readonly string[]): HeaderPairs {
  const pairs: HeaderPairs = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    if (!hopByHopHeaders.has(name.toLowerCase())) pairs.push([name, rawHeaders[i + 1] as string])
  }
  return pairs
}

/**
 * `\n{json}\n`, all ASCII (non-ASCII in header values is escaped as \uXXXX), the body last.
 * The body's base64 is written straight into the frame: building one big string and converting
 * it would copy megabytes twice more, which counts in a guest without KVM.
 */
export function encodeFrame(frame: Frame): Buffer {
  if (!('body' in frame)) return Buffer.from(`\n${asciiJson(frame)}\n`, 'latin1')
  const { body, ...rest } = frame
  const head = `\n${asciiJson(rest).slice(0, -1)},"body":"`
  const tail = '"}\n'
  const base64 = body.toString('base64')
  const out = Buffer.allocUnsafe(head.length + base64.length + tail.length)
  out.write(head, 0, 'latin1')
  out.write(base64, head.length, 'latin1')
  out.write(tail, head.length + base64.length, 'latin1')
  return out
}

const asciiJson = (value: unknown) => JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)

const idPattern = /^[A-Za-z0-9._:-]{1,128}$/
const tokenPattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/
// Printable ASCII without space: what an HTTP/1.1 request target may hold once Node has parsed it.
const pathPattern = /^\/[\x21-\x7e]*$/
const headerValuePattern = /^[^\r\n\0]*$/
const maxHeaders = 256

class Invalid extends Error {}

function field<T>(value: unknown, check: (v: unknown) => v is T, what: string): T {
  if (!check(value)) throw new Invalid(what)
  return value
}
const isString = (v: unknown): v is string => typeof v === 'string'
const matches = (pattern: RegExp) => (v: unknown): v is string => typeof v === 'string' && pattern.test(v)
// 1xx are interim answers, never the final response that is relayed.
const isStatus = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 200 && (v as number) <= 599

function headers(value: unknown): HeaderPairs {
  if (!Array.isArray(value) || value.length > maxHeaders) throw new Invalid(`headers: an array of at most ${maxHeaders} [name, value] pairs`)
  return value.map((pair: unknown) => {
    if (!Array.isArray(pair) || pair.length !== 2 || !matches(tokenPattern)(pair[0]) || !matches(headerValuePattern)(pair[1])) {
      throw new Invalid('headers: each a [name, value] pair of strings, a token and a value without CR, LF or NUL')
    }
    return [pair[0], pair[1]] as [string, string]
  })
}

function body(value: unknown): Buffer {
  const what = `body: padded base64 of at most ${maxBodyBytes} bytes`
  if (typeof value !== 'string' || value.length % 4 !== 0 || value.length > Math.ceil(maxBodyBytes / 3) * 4) throw new Invalid(what)
  // Node skips characters that are not base64 and stops at a misplaced '=': either way fewer bytes
  // come out than the length promises. (A regular expression over megabytes costs more than this.)
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0
  const bytes = Buffer.from(value, 'base64')
  if (bytes.length !== (value.length / 4) * 3 - padding) throw new Invalid(what)
  return bytes
}

/** One line (without its newline) to a frame, or the reason it is not one. */
export function parseFrame(line: Buffer | string): ParseFrameResult {
  let json: unknown
  try {
    // Frames are ASCII; latin1 is a plain copy, and any other byte simply fails the checks below.
    json = JSON.parse(typeof line === 'string' ? line : line.toString('latin1'))
  } catch (error) {
    return { ok: false, problem: { code: 'not-json', message: `not JSON: ${(error as Error).message.slice(0, 100)}` } }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, problem: { code: 'not-a-frame', message: 'not a JSON object' } }
  }
  const o = json as Record<string, unknown>
  const t = typeof o.t === 'string' ? o.t.slice(0, 16) : undefined
  const id = typeof o.id === 'string' && idPattern.test(o.id) ? o.id : undefined
  try {
    switch (o.t) {
      case 'req':
        return {
          ok: true,
          frame: {
            t: 'req',
            id: field(o.id, matches(idPattern), 'id: 1 to 128 of A-Z a-z 0-9 . _ : -'),
            method: field(o.method, matches(tokenPattern), 'method: an HTTP token'),
            path: field(o.path, (v): v is string => matches(pathPattern)(v) && v.length <= 65536, 'path: printable ASCII starting with /, at most 64 KiB'),
            headers: headers(o.headers),
            body: body(o.body),
          },
        }
      case 'res':
        return {
          ok: true,
          frame: {
            t: 'res',
            id: field(o.id, matches(idPattern), 'id: 1 to 128 of A-Z a-z 0-9 . _ : -'),
            status: field(o.status, isStatus, 'status: an integer from 200 to 599'),
            headers: headers(o.headers),
            body: body(o.body),
          },
        }
      case 'hello':
        return { ok: true, frame: { t: 'hello', bridge: field(o.bridge, (v): v is string => isString(v) && v.length <= 128, 'bridge: a string') } }
      case 'ack':
        return { ok: true, frame: { t: 'ack', id: field(o.id, matches(idPattern), 'id: 1 to 128 of A-Z a-z 0-9 . _ : -') } }
      default:
        return { ok: false, problem: { code: t === undefined ? 'not-a-frame' : 'unknown-type', message: t === undefined ? 'no "t" field' : `unknown frame type ${JSON.stringify(t)}`, ...(id ? { id } : {}) } }
    }
  } catch (error) {
    if (!(error instanceof Invalid)) throw error
    return { ok: false, problem: { code: 'invalid-field', message: `${t} frame: ${error.message}`, ...(t ? { t } : {}), ...(id ? { id } : {}) } }
  }
}

/**
 * Splits a byte stream into frames. Never throws on input: every line that is not a frame goes
 * to `onProblem`, and decoding carries on with the next line. Blank lines are the separators
 * `encodeFrame` writes and are skipped silently.
 */
export class FrameDecoder {
  readonly #onFrame: (frame: Frame) => void
  readonly #onProblem: (problem: FrameProblem) => void
  readonly #maxBytes: number
  #parts: Buffer[] = []
  #length = 0
  #discarding = false

  constructor(args: { onFrame: (frame: Frame) => void; onProblem: (problem: FrameProblem) => void; maxFrameBytes?: number }) {
    this.#onFrame = args.onFrame
    this.#onProblem = args.onProblem
    this.#maxBytes = args.maxFrameBytes ?? maxFrameBytes
  }

  push(chunk: Buffer): void {
    let start = 0
    for (;;) {
      const newline = chunk.indexOf(0x0a, start)
      if (newline === -1) {
        this.#append(chunk.subarray(start))
        return
      }
      this.#append(chunk.subarray(start, newline))
      const line = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, this.#length)
      const skip = this.#discarding
      this.reset()
      start = newline + 1
      if (skip || line.length === 0) continue
      const result = parseFrame(line)
      if (result.ok) this.#onFrame(result.frame)
      else this.#onProblem(result.problem)
    }
  }

  /** Forgets a partial line, e.g. when the peer went away in the middle of a frame. */
  reset(): void {
    this.#parts = []
    this.#length = 0
    this.#discarding = false
  }

  /** Bytes held for a line not yet ended (0 while a too-long line is being skipped). */
  get pendingBytes(): number {
    return this.#length
  }

  #append(part: Buffer): void {
    if (this.#discarding || part.length === 0) return
    if (this.#length + part.length > this.#maxBytes) {
      this.#onProblem({ code: 'too-long', message: `a line longer than ${this.#maxBytes} bytes; skipping to the next newline` })
      this.#parts = []
      this.#length = 0
      this.#discarding = true
      return
    }
    this.#parts.push(part)
    this.#length += part.length
  }
}

/** A problem in one line of log, never quoting more than a little of what came. */
export function describeProblem(problem: FrameProblem): string {
  return `skipped a malformed frame (${problem.code}${problem.id ? `, id ${problem.id}` : ''}): ${problem.message}`
}
