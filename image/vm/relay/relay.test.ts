/**
 * The rollup relay on the host, with real parts only: a fake rollup HTTP API (hono on an
 * ephemeral loopback port), the guest half as a child process whose stdin/stdout play the
 * virtio-serial port, and the host half in this process. Once, the real back end runs through it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Duplex, PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { serve, type ServerType } from '@hono/node-server'
import fc from 'fast-check'
import { Hono, type Context } from 'hono'
import { toHex, type Hex } from 'viem'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sourcesAnswer } from '../../../dapp/protocol/inspect.ts'
import { decodeReport } from '../../../dapp/protocol/reports.ts'
import { payloadBody, type RollupRequestBody } from '../../../dapp/protocol/rollupHttp.ts'
import { FrameDecoder, encodeFrame, parseFrame, type Frame, type FrameProblem } from './frame.ts'
import { connectRelay, createRelayHost, type RelayAttachment, type RelayHost } from './host.ts'

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const guestScript = fileURLToPath(new URL('./guest.ts', import.meta.url))
const token = 'session-7f3a'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** Settles to 'pending' if the promise has not settled within `ms`. */
async function stateAfter(promise: Promise<unknown>, ms: number): Promise<'settled' | 'pending'> {
  return Promise.race([promise.then(() => 'settled' as const, () => 'settled' as const), sleep(ms).then(() => 'pending' as const)])
}

const advance: RollupRequestBody = {
  request_type: 'advance_state',
  data: {
    metadata: {
      chain_id: 31337, app_contract: `0x${'ab'.repeat(20)}`, msg_sender: `0x${'cd'.repeat(20)}`,
      block_number: 12, block_timestamp: 1_700_000_000, prev_randao: `0x${'00'.repeat(32)}`, input_index: 0,
    },
    payload: toHex('build hello'),
  },
}

/** The rollup HTTP API as far as these tests need it, under a session token like the dev node's. */
async function startFakeRollup() {
  const calls: Array<{ method: string; path: string }> = []
  const finishBodies: unknown[] = []
  const reports: Hex[] = []
  /** Scripted answers to /finish, in order; when none is left, 202 after a short wait (a long poll). */
  const finishScript: Array<(c: Context) => Response | Promise<Response>> = []
  let notices = 0
  const app = new Hono().basePath(`/${token}`)
  app.use(async (c, next) => {
    calls.push({ method: c.req.method, path: new URL(c.req.url).pathname + new URL(c.req.url).search })
    await next()
  })
  app.post('/finish', async (c) => {
    finishBodies.push(await c.req.json())
    const step = finishScript.shift()
    if (step) return step(c)
    await sleep(300)
    return c.body(null, 202)
  })
  app.post('/notice', (c) => c.json({ index: notices++ }, 201))
  app.post('/report', async (c) => {
    const body = payloadBody.safeParse(await c.req.json())
    if (!body.success) return c.json({ error: `invalid body: ${body.error.message}` }, 400)
    reports.push(body.data.payload)
    return c.body(null, 202)
  })
  app.post('/error', (c) => {
    c.header('x-reason', 'bad-payload')
    return c.json({ error: 'invalid body: payload: an even-length 0x-prefixed hex string' }, 400)
  })
  app.get('/text', (c) => c.text('hello through the relay', 200, { 'x-test': 'yes' }))
  app.all('/echo', async (c) => {
    await sleep(Number(c.req.query('delay') ?? 0))
    const body = await c.req.arrayBuffer()
    c.header('content-type', c.req.header('content-type') ?? 'application/octet-stream')
    c.header('x-method', c.req.method)
    c.header('x-url', new URL(c.req.url).pathname + new URL(c.req.url).search)
    c.header('x-custom-in', c.req.header('x-custom') ?? '')
    c.header('set-cookie', 'a=1', { append: true })
    c.header('set-cookie', 'b=2', { append: true })
    return c.body(body, 200)
  })
  const server = await new Promise<ServerType>((resolve) => {
    const s: ServerType = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const origin = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`
  return {
    origin,
    baseUrl: `${origin}/${token}`,
    calls,
    finishBodies,
    reports,
    finishScript,
    count: (path: string) => calls.filter((call) => call.path === `/${token}${path}`).length,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
type FakeRollup = Awaited<ReturnType<typeof startFakeRollup>>

/** The guest half as a child process, with its stdin/stdout as the port. */
async function startGuest() {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', guestScript, '--port', '-', '--listen-port', '0'], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const stderr: string[] = []
  let partial = ''
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    const lines = (partial + text).split('\n')
    partial = lines.pop() ?? ''
    stderr.push(...lines)
  })
  const url = await waitFor('the guest relay to listen', () => stderr.map((line) => /listening on (http:\/\/\S+),/.exec(line)?.[1]).find(Boolean) ?? (child.exitCode !== null ? 'exited' : undefined))
  if (url === 'exited') throw new Error(`the guest relay exited: ${stderr.join('\n')}`)
  let stream: Duplex | undefined
  return {
    child,
    url,
    stderr,
    /** The port as one Duplex, made on first use (it starts reading stdout, which must then have no other reader). */
    get stream() {
      stream ??= Duplex.from({ readable: child.stdout, writable: child.stdin })
      return stream
    },
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}
type Guest = Awaited<ReturnType<typeof startGuest>>

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })

/** Headers as a client sees them, without those that belong to one connection. */
const endToEnd = (headers: Headers) => [...headers].filter(([name]) => !['date', 'connection', 'keep-alive', 'transfer-encoding'].includes(name))

describe('frames', () => {
  const decodeAll = (chunks: Buffer[], maxFrameBytes?: number) => {
    const frames: Frame[] = []
    const problems: FrameProblem[] = []
    const decoder = new FrameDecoder({ onFrame: (f) => frames.push(f), onProblem: (p) => problems.push(p), ...(maxFrameBytes ? { maxFrameBytes } : {}) })
    for (const chunk of chunks) decoder.push(chunk)
    return { frames, problems, decoder }
  }
  const request: Frame = { t: 'req', id: 'a1-1', method: 'POST', path: '/notice?x=1', headers: [['content-type', 'application/json'], ['x-a', '1'], ['x-a', '2']], body: Buffer.from('{"payload":"0x00"}') }

  it('round-trips every frame type, binary bodies of 4 MiB included, in any chunking', () => {
    const big: Frame = { t: 'res', id: 'a1-2', status: 201, headers: [['content-type', 'application/octet-stream']], body: randomBytes(4 * 1024 * 1024) }
    const frames: Frame[] = [request, big, { t: 'hello', bridge: 'b1' }, { t: 'ack', id: 'a1-2' }]
    const wire = Buffer.concat(frames.map(encodeFrame))
    const chunks = [wire.subarray(0, 7), wire.subarray(7, 1_000_003), wire.subarray(1_000_003)]
    const { frames: decoded, problems } = decodeAll(chunks)
    expect(problems).toEqual([])
    // Bodies compared as bytes: a deep equality over 4 MiB, element by element, takes vitest seconds.
    const bodies = (list: Frame[]) => list.map((frame) => ('body' in frame ? frame.body.toString('hex') : null))
    const rest = (list: Frame[]) => list.map((frame) => ('body' in frame ? { ...frame, body: null } : frame))
    expect(bodies(decoded)).toEqual(bodies(frames))
    expect(rest(decoded)).toEqual(rest(frames))
  })

  it('skips random bytes and reports them, and decodes the frame that follows', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.integer({ min: 1, max: 64 }), (garbage, chunkSize) => {
        const wire = Buffer.concat([Buffer.from(garbage), encodeFrame(request)])
        const chunks: Buffer[] = []
        for (let i = 0; i < wire.length; i += chunkSize) chunks.push(wire.subarray(i, i + chunkSize))
        const { frames, problems } = decodeAll(chunks)
        expect(frames.at(-1)).toEqual(request)
        // Every non-blank line of garbage is reported (garbage can, rarely, be valid JSON of no frame).
        const garbageLines = Buffer.from(garbage).toString('latin1').split('\n').filter((line) => line.length > 0)
        expect(problems.length + frames.length - 1).toBe(garbageLines.length)
      }),
      { numRuns: 200 },
    )
  })

  it('loses only the truncated frame itself, not the next one', () => {
    const whole = encodeFrame(request)
    const cut = whole.subarray(0, whole.length - 10)
    const { frames, problems } = decodeAll([cut, whole])
    expect(frames).toEqual([request])
    expect(problems).toMatchObject([{ code: 'not-json' }])
  })

  it('drops a line longer than the limit without holding it, then carries on', () => {
    const { frames, problems, decoder } = decodeAll([Buffer.alloc(3000, 0x41), Buffer.alloc(3000, 0x42)], 1024)
    expect(decoder.pendingBytes).toBe(0)
    decoder.push(Buffer.concat([Buffer.from('CCC'), encodeFrame(request)]))
    expect(problems).toMatchObject([{ code: 'too-long' }])
    expect(frames).toEqual([request])
  })

  it('names what is wrong with a frame, and its id when it has one', () => {
    const wrong = (o: unknown) => parseFrame(JSON.stringify(o))
    expect(wrong([1])).toMatchObject({ ok: false, problem: { code: 'not-a-frame' } })
    expect(wrong({ t: 'nope', id: 'x-1' })).toMatchObject({ ok: false, problem: { code: 'unknown-type', id: 'x-1' } })
    expect(wrong({ t: 'req', id: 'x-2', method: 'POST', path: '/a', headers: [], body: 'not base64!' })).toMatchObject({ ok: false, problem: { code: 'invalid-field', id: 'x-2', t: 'req' } })
    expect(wrong({ t: 'req', id: 'x-3', method: 'POST', path: 'a', headers: [], body: '' })).toMatchObject({ ok: false, problem: { code: 'invalid-field' } })
    expect(wrong({ t: 'res', id: 'x-4', status: 99, headers: [], body: '' })).toMatchObject({ ok: false, problem: { code: 'invalid-field', id: 'x-4' } })
    expect(wrong({ t: 'res', id: 'x-5', status: 200, headers: [['x', 'a\r\nb']], body: '' })).toMatchObject({ ok: false, problem: { code: 'invalid-field' } })
    expect(wrong({ t: 'ack' })).toMatchObject({ ok: false, problem: { code: 'invalid-field' } })
    expect(parseFrame('{"t":"ack","id":"x-6"')).toMatchObject({ ok: false, problem: { code: 'not-json' } })
  })
})

describe('the relay, guest process and host bridge joined by a pipe', () => {
  let rollup: FakeRollup
  let guest: Guest
  let host: RelayHost
  let attachment: RelayAttachment
  const hostLog: string[] = []
  const log = (line: string) => hostLog.push(line)

  beforeAll(async () => {
    rollup = await startFakeRollup()
    guest = await startGuest()
    host = createRelayHost({ baseUrl: rollup.baseUrl, log })
    attachment = host.attach(guest.stream)
  })
  afterAll(async () => {
    await host?.stop()
    await guest?.stop()
    await rollup?.close()
  })

  // A lost request would wait forever (the relay has no timeouts): each test has its own limit.
  it('answers with the rollup API\'s status, body and headers, exactly', { timeout: 30_000 }, async () => {
    rollup.finishScript.push((c) => c.body(null, 202), (c) => c.json(advance, 200))
    const nothingYet = await post(`${guest.url}/finish`, { status: 'accept' })
    expect(nothingYet.status).toBe(202)
    expect(await nothingYet.text()).toBe('')
    const next = await post(`${guest.url}/finish`, { status: 'accept' })
    expect(next.status).toBe(200)
    expect(next.headers.get('content-type')).toBe('application/json')
    expect(await next.json()).toEqual(advance)
    expect(rollup.finishBodies.slice(-2)).toEqual([{ status: 'accept' }, { status: 'accept' }])

    for (const index of [0, 1]) {
      const notice = await post(`${guest.url}/notice`, { payload: '0x01' })
      expect(notice.status).toBe(201)
      expect(await notice.text()).toBe(`{"index":${index}}`)
    }
    const report = await post(`${guest.url}/report`, { payload: '0xbeef' })
    expect(report.status).toBe(202)
    expect(rollup.reports.at(-1)).toBe('0xbeef')

    // Stateless routes: the relayed answer and the direct one must be the same, headers included.
    const cases: Array<[string, RequestInit]> = [
      ['/error', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payload":"0xz"}' }],
      ['/text', { method: 'GET' }],
      ['/echo?delay=0&q=%20x', { method: 'PUT', headers: { 'content-type': 'text/x-thing; charset=latin1', 'x-custom': 'kept' }, body: 'some body' }],
      ['/echo', { method: 'DELETE' }],
    ]
    for (const [path, init] of cases) {
      const direct = await fetch(`${rollup.baseUrl}${path}`, init)
      const relayed = await fetch(`${guest.url}${path}`, init)
      expect(relayed.status, path).toBe(direct.status)
      expect(endToEnd(relayed.headers), path).toEqual(endToEnd(direct.headers))
      expect(Buffer.from(await relayed.arrayBuffer()), path).toEqual(Buffer.from(await direct.arrayBuffer()))
    }
    const error = await post(`${guest.url}/error`, '{}')
    expect(error.status).toBe(400)
    expect(error.headers.get('x-reason')).toBe('bad-payload')
    expect(await error.json()).toEqual({ error: 'invalid body: payload: an even-length 0x-prefixed hex string' })
    const echo = await fetch(`${guest.url}/echo?a=1`, { method: 'PATCH', headers: { 'content-type': 'text/plain', 'x-custom': 'v' }, body: 'x' })
    expect(echo.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    expect([echo.headers.get('x-method'), echo.headers.get('x-url'), echo.headers.get('x-custom-in')]).toEqual(['PATCH', `/${token}/echo?a=1`, 'v'])
  })

  it('keeps the guest inside the session\'s path prefix', { timeout: 30_000 }, async () => {
    const before = rollup.calls.length
    const answer = await new Promise<{ status: number; relayError: string | undefined }>((resolve, reject) => {
      // fetch would resolve `..` itself; a raw request sends it as written.
      const request = http.request(`${guest.url}/../other-session/finish`, { method: 'POST', path: '/../other-session/finish', headers: { 'content-type': 'application/json' } }, (response) => {
        response.resume()
        resolve({ status: response.statusCode ?? 0, relayError: response.headers['x-cartenix-relay-error'] as string | undefined })
      })
      request.on('error', reject)
      request.end('{"status":"accept"}')
    })
    expect(answer).toEqual({ status: 400, relayError: 'path-escapes-base' })
    expect(rollup.calls.length).toBe(before)
  })

  it('carries a 2 MiB payload both ways intact', { timeout: 30_000 }, async () => {
    const payload = toHex(randomBytes(2 * 1024 * 1024))
    const json = JSON.stringify({ payload })
    const t0 = performance.now()
    const echoed = await post(`${guest.url}/echo`, json)
    const text = await echoed.text()
    const jsonMs = performance.now() - t0
    expect(echoed.status).toBe(200)
    expect(text.length).toBe(json.length)
    expect(text === json).toBe(true)

    const raw = randomBytes(2 * 1024 * 1024)
    const t1 = performance.now()
    const back = Buffer.from(await (await fetch(`${guest.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: raw })).arrayBuffer())
    const rawMs = performance.now() - t1
    expect(back.equals(raw)).toBe(true)

    const t2 = performance.now()
    await (await fetch(`${rollup.baseUrl}/echo`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: raw })).arrayBuffer()
    const directMs = performance.now() - t2
    const mib = (bytes: number, ms: number) => ((bytes / 1024 / 1024) / (ms / 1000)).toFixed(1)
    console.log(
      `relay throughput: 2 MiB payload as hex JSON (${(json.length / 1024 / 1024).toFixed(1)} MiB each way) round trip ${jsonMs.toFixed(0)} ms (${mib(2 * json.length, jsonMs)} MiB/s both ways together); ` +
        `2 MiB raw body round trip ${rawMs.toFixed(0)} ms (${mib(2 * raw.length, rawMs)} MiB/s); same without the relay ${directMs.toFixed(0)} ms`,
    )
  })

  it('answers overlapping requests each with its own answer, in whatever order they finish', { timeout: 30_000 }, async () => {
    const requests = Array.from({ length: 12 }, (_, i) => ({ body: `request ${i} ${randomBytes(8 + i * 1000).toString('hex')}`, delay: (i * 37) % 200 }))
    const order: number[] = []
    const answers = await Promise.all(
      requests.map(async ({ body, delay }, i) => {
        const response = await fetch(`${guest.url}/echo?delay=${delay}&i=${i}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body })
        const text = await response.text()
        order.push(i)
        return { text, url: response.headers.get('x-url') }
      }),
    )
    answers.forEach((answer, i) => expect(answer).toEqual({ text: requests[i]?.body, url: `/${token}/echo?delay=${requests[i]?.delay}&i=${i}` }))
    expect(order).not.toEqual([...order].sort((a, b) => a - b))
  })

  it('holds a request while no host bridge is there, and a new bridge answers it once', { timeout: 30_000 }, async () => {
    await host.stop()
    const notices = rollup.count('/notice')
    const waiting = post(`${guest.url}/notice`, { payload: '0x02' })
    expect(await stateAfter(waiting, 700)).toBe('pending')
    expect(rollup.count('/notice')).toBe(notices)
    host = createRelayHost({ baseUrl: rollup.baseUrl, log })
    attachment = host.attach(guest.stream)
    const answer = await waiting
    expect(answer.status).toBe(201)
    expect(await answer.json()).toEqual({ index: expect.any(Number) })
    await sleep(200)
    expect(rollup.count('/notice')).toBe(notices + 1)
  })

  it('answers a /finish that was running when the connection dropped, after the reconnection, without asking twice', { timeout: 30_000 }, async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    rollup.finishScript.push(async (c) => {
      await gate
      return c.json(advance, 200)
    })
    const finishes = rollup.count('/finish')
    const waiting = post(`${guest.url}/finish`, { status: 'accept' })
    await waitFor('the /finish to reach the rollup API', () => rollup.count('/finish') === finishes + 1)
    attachment.detach()
    release()
    expect(await stateAfter(waiting, 500)).toBe('pending')
    attachment = host.attach(guest.stream)
    const answer = await waiting
    expect(answer.status).toBe(200)
    expect(await answer.json()).toEqual(advance)
    await sleep(200)
    expect(rollup.count('/finish')).toBe(finishes + 1)
    expect(guest.stderr.some((line) => /re-sending 1 unanswered request/.test(line))).toBe(true)
  })

  it('survives garbage on the port in both directions, and says so', { timeout: 30_000 }, async () => {
    // Into the guest: random bytes, then a truncated response frame.
    const partialAnswer = encodeFrame({ t: 'res', id: 'nobody-1', status: 200, headers: [], body: Buffer.from('x'.repeat(100)) })
    guest.child.stdin.write(Buffer.concat([randomBytes(4096), Buffer.from('\n'), partialAnswer.subarray(0, 60)]))
    const report = await post(`${guest.url}/report`, { payload: '0x03' })
    expect(report.status).toBe(202)
    await waitFor('the guest to report the garbage', () => guest.stderr.some((line) => line.includes('skipped a malformed frame')))
    expect(guest.child.exitCode).toBe(null)

    // Into a host bridge: random bytes, a truncated request, a request that names itself but is broken, a good request.
    const toHost = new PassThrough()
    const fromHost = new PassThrough()
    const bridgeLog: string[] = []
    const other = createRelayHost({ baseUrl: rollup.baseUrl, log: (line) => bridgeLog.push(line) })
    other.attach(Duplex.from({ readable: toHost, writable: fromHost }))
    const answers: Frame[] = []
    const decoder = new FrameDecoder({ onFrame: (frame) => answers.push(frame), onProblem: (problem) => answers.push({ t: 'hello', bridge: `problem ${problem.code}` }) })
    fromHost.on('data', (chunk: Buffer) => decoder.push(chunk))
    const good = encodeFrame({ t: 'req', id: 'g-1', method: 'GET', path: '/text', headers: [], body: Buffer.alloc(0) })
    toHost.write(randomBytes(10_000))
    toHost.write(good.subarray(0, good.length - 5))
    toHost.write(`\n${JSON.stringify({ t: 'req', id: 'g-2', method: 'POST', path: '/notice', headers: [], body: '%%%' })}\n`)
    toHost.write(good)
    await waitFor('both answers', () => answers.filter((frame) => frame.t === 'res').length === 2)
    expect(answers.map((frame) => (frame.t === 'res' ? [frame.id, frame.status] : frame.t))).toEqual(['hello', ['g-2', 502], ['g-1', 200]])
    const text = answers.find((frame) => frame.t === 'res' && frame.id === 'g-1')
    expect(text?.t === 'res' && text.body.toString()).toBe('hello through the relay')
    expect(bridgeLog.filter((line) => line.includes('skipped a malformed frame')).length).toBeGreaterThanOrEqual(2)
    expect(bridgeLog.some((line) => line.includes('id g-2'))).toBe(true)
    await other.stop()
  })

  it('carries the real back end: an inspect query in, its report out', { timeout: 300_000 }, async () => {
    const sources: RollupRequestBody = { request_type: 'inspect_state', data: { payload: toHex('{"query":"sources"}') } }
    rollup.finishScript.push((c) => c.json(sources, 200))
    const reports = rollup.reports.length
    const finishes = rollup.finishBodies.length
    const backend = spawn(process.execPath, ['--import', 'tsx', 'dapp/main.ts'], {
      cwd: repoRoot,
      env: { ...process.env, ROLLUP_HTTP_SERVER_URL: guest.url },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let backendLog = ''
    backend.stderr.setEncoding('utf8').on('data', (text: string) => {
      backendLog += text
    })
    try {
      await waitFor('the back end\'s report', () => rollup.reports.length > reports || (backend.exitCode !== null && 'exited'), 240_000)
      expect(backend.exitCode, backendLog).toBe(null)
      const report = sourcesAnswer.parse(decodeReport(rollup.reports[reports] ?? '0x').json)
      expect(report.query).toBe('sources')
      expect(report.sources.length).toBeGreaterThan(0)
      // The verdict comes with the next /finish, through the relay as well.
      await waitFor('the verdict', () => rollup.finishBodies.length >= finishes + 2)
      expect(rollup.finishBodies[finishes + 1]).toEqual({ status: 'accept' })
    } finally {
      const exited = new Promise((resolve) => backend.once('exit', resolve))
      if (backend.exitCode === null) backend.kill('SIGTERM')
      await exited.catch(() => undefined)
    }
  })
})

describe('connectRelay over a Unix socket, as QEMU offers it', () => {
  let directory: string
  let guest: Guest
  let rollup: FakeRollup

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'cartenix-relay-'))
    rollup = await startFakeRollup()
    guest = await startGuest()
  })
  afterAll(async () => {
    await guest?.stop()
    await rollup?.close()
    if (directory) await rm(directory, { recursive: true, force: true })
  })

  /**
   * Plays QEMU's `-chardev socket,server=on,wait=off`: one client at a time; what the guest
   * writes while no client is connected waits for the next one (the guest's write blocks).
   */
  function fakeQemu(path: string) {
    let client: net.Socket | undefined
    const held: Buffer[] = []
    guest.child.stdout.on('data', (chunk: Buffer) => {
      if (client && !client.destroyed) client.write(chunk)
      else held.push(chunk)
    })
    const server = net.createServer((socket) => {
      if (client && !client.destroyed) return void socket.destroy()
      client = socket
      for (const chunk of held.splice(0)) socket.write(chunk)
      socket.on('data', (chunk: Buffer) => guest.child.stdin.write(chunk))
      socket.on('error', () => undefined)
    })
    return {
      listen: () => new Promise<void>((resolve) => server.listen(path, () => resolve())),
      /** Drops the connection and stops accepting, like a socket that went away. */
      drop: () => new Promise<void>((resolve) => {
        client?.destroy()
        client = undefined
        server.close(() => resolve())
      }),
    }
  }

  it('connects once QEMU makes the socket, reconnects after it closes, and loses no request meanwhile', { timeout: 30_000 }, async () => {
    const path = join(directory, 'port.sock')
    const qemu = fakeQemu(path)
    const log: string[] = []
    const relay = connectRelay({ socketPath: path, baseUrl: rollup.baseUrl, log: (line) => log.push(line) })
    try {
      const early = post(`${guest.url}/notice`, { payload: '0x04' })
      expect(await stateAfter(early, 400)).toBe('pending')
      expect(relay.connected).toBe(false)
      await qemu.listen()
      expect((await early).status).toBe(201)
      expect(relay.connected).toBe(true)

      await qemu.drop()
      await waitFor('the relay to see the socket close', () => !relay.connected)
      const during = post(`${guest.url}/report`, { payload: '0x05' })
      expect(await stateAfter(during, 400)).toBe('pending')
      await qemu.listen()
      expect((await during).status).toBe(202)
      expect(rollup.reports.filter((payload) => payload === '0x05')).toHaveLength(1)
      expect(rollup.count('/notice')).toBe(1)
      expect(log.some((line) => /cannot connect to .* yet/.test(line))).toBe(true)
      expect(log.some((line) => /closed; reconnecting/.test(line))).toBe(true)
    } finally {
      await relay.stop()
      await qemu.drop()
    }
  })
})

describe('the guest bundle', () => {
  it('is one ESM file that needs nothing but node: built-ins, and relays', { timeout: 60_000 }, async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cartenix-relay-bundle-'))
    const rollup = await startFakeRollup()
    let child: ChildProcessWithoutNullStreams | undefined
    let host: RelayHost | undefined
    try {
      const outfile = join(directory, 'relay-guest.mjs')
      const result = await build({ entryPoints: [guestScript], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, metafile: true, logLevel: 'silent' })
      const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports.map((i) => i.path))
      expect(imports.filter((path) => !path.startsWith('node:'))).toEqual([])
      child = spawn(process.execPath, [outfile, '--port', '-', '--listen-port', '0'], { cwd: directory, stdio: ['pipe', 'pipe', 'pipe'] })
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (text: string) => {
        stderr += text
      })
      const url = await waitFor('the bundled relay to listen', () => /listening on (http:\/\/\S+),/.exec(stderr)?.[1])
      host = createRelayHost({ baseUrl: rollup.baseUrl, log: () => undefined })
      host.attach(Duplex.from({ readable: child.stdout, writable: child.stdin }))
      const notice = await post(`${url}/notice`, { payload: '0x06' })
      expect([notice.status, await notice.json()]).toEqual([201, { index: 0 }])
    } finally {
      await host?.stop()
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child?.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }
      await rollup.close()
      await rm(directory, { recursive: true, force: true })
    }
  })
})
