import { createReadStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { Hono } from 'hono'
import { serve, type ServerType } from '@hono/node-server'
import { bytesToNix32 } from '../../dapp/protocol/narHash.ts'
import { NarMismatchError, UpstreamError } from '../errors/cache.ts'
import type { FixedPath } from './fixed.ts'
import { flatFileSha256, NarTooLargeError, spoolNar, type SpooledNar } from './nar.ts'
import { hashPart, renderNarInfo, type CachePath } from './narinfo.ts'
import type { NoticeIndex, NoticeIndexStatus, SourcePath } from './notices.ts'
import type { NarInfoSigner } from './signing.ts'
import type { Upstream } from './upstream.ts'

export type CacheGatewayOptions = {
  notices: NoticeIndex
  /** Locked fixed-output paths by hash part (lockedFixedPaths()). */
  fixed: ReadonlyMap<string, FixedPath>
  upstream: Upstream
  signer: NarInfoSigner
  /**
   * A narinfo for an unknown path refreshes the notices at most this often (default 1000 ms),
   * and at once when the node has processed inputs since the last refresh.
   */
  refreshIntervalMs?: number
  /** Largest fixed-output NAR fetched to check it (default 8 GiB). */
  maxFixedNarBytes?: bigint
  log?: (line: string) => void
}

export type CacheGatewayStatus = {
  publicKey: string
  upstream: string
  notices: NoticeIndexStatus
  fixedPaths: number
  served: { narinfo: number; nar: number; notFound: number; refused: number }
}

const hashPattern = /^([0-9a-df-np-sv-z]{32})\.narinfo$/
const narPattern = /^([0-9a-df-np-sv-z]{32})\.nar$/

/**
 * The gateway as a hono app: the Nix binary cache protocol (`/nix-cache-info`, `/<hash>.narinfo`,
 * `/nar/<hash>.nar`), serving a path only when a notice validated on-chain vouches for it, or when
 * it is a fixed-output path whose content has its fixed hash: a locked one, or a source uploaded
 * through the rollup whose SourceAdded notice validated on-chain. NAR bytes come from the
 * untrusted upstream and are spooled and hashed in full before the first byte is sent.
 */
export function createCacheApp(options: CacheGatewayOptions & { spoolDir: string }) {
  const log = options.log ?? (() => {})
  const served = { narinfo: 0, nar: 0, notFound: 0, refused: 0 }
  /** Fixed-output paths whose NAR was fetched and checked: their NAR hash and size are now known. */
  const checkedFixed = new Map<string, CachePath>()
  let spoolCount = 0

  /** Fetches the NAR of a path into the spool, hashing it; refuses a NAR that is not `expected`. */
  async function fetchNar(path: string, maxBytes: bigint): Promise<SpooledNar> {
    const file = join(options.spoolDir, `${hashPart(path)}-${++spoolCount}.nar`)
    try {
      const { stream, done } = await options.upstream.open(path)
      const spooled = await spoolNar(stream, file, maxBytes)
      await done
      return spooled
    } catch (error) {
      await rm(file, { force: true })
      if (error instanceof NarTooLargeError) throw new NarMismatchError({ storePath: path, what: 'its size', expected: `at most ${maxBytes} bytes`, got: 'more' })
      throw error
    }
  }

  async function checkedNar(entry: CachePath): Promise<SpooledNar> {
    const spooled = await fetchNar(entry.path, entry.narSize)
    const got = `0x${spooled.sha256.toString('hex')}`
    const problem =
      spooled.size !== entry.narSize
        ? new NarMismatchError({ storePath: entry.path, what: 'its size', expected: `${entry.narSize} bytes`, got: `${spooled.size} bytes` })
        : got !== entry.narHash.toLowerCase()
          ? new NarMismatchError({ storePath: entry.path, what: 'its sha256', expected: nix32(entry.narHash), got: nix32(got) })
          : undefined
    if (problem) {
      await rm(spooled.file, { force: true })
      throw problem
    }
    return spooled
  }

  /**
   * Fetches a fixed-output path's NAR and checks its content against the fixed hash: a locked
   * one, or an uploaded source's, whose notice also bounds the NAR's size.
   */
  async function checkFixed(fixed: FixedPath | SourcePath): Promise<CachePath> {
    const known = checkedFixed.get(hashPart(fixed.path))
    if (known) return known
    const spooled = await fetchNar(fixed.path, 'outputIndex' in fixed ? sourceNarBound(fixed) : (options.maxFixedNarBytes ?? 8n << 30n))
    try {
      const content = fixed.mode === 'recursive' ? spooled.sha256 : await flatFileSha256(spooled.file)
      if (!content) throw new NarMismatchError({ storePath: fixed.path, what: 'its NAR', expected: 'one regular file (a flat fixed-output path)', got: 'something else' })
      if (content.toString('hex') !== fixed.sha256) {
        throw new NarMismatchError({ storePath: fixed.path, what: `the sha256 of its ${fixed.mode === 'flat' ? 'file' : 'NAR'}`, expected: fixed.sha256, got: content.toString('hex') })
      }
      const entry: CachePath = { path: fixed.path, narHash: `0x${spooled.sha256.toString('hex')}`, narSize: spooled.size, references: [] }
      checkedFixed.set(hashPart(fixed.path), entry)
      if ('outputIndex' in fixed) log(`checked uploaded source ${fixed.path} against the ${fixed.mode} sha256 ${fixed.sha256} of SourceAdded notice ${fixed.outputIndex}`)
      else log(`checked fixed-output ${fixed.path} against the locked sha256 ${fixed.sha256}`)
      return entry
    } finally {
      await rm(spooled.file, { force: true })
    }
  }

  type Resolved = { entry: CachePath; kind: 'notice' | 'fixed' | 'source' }

  /** A validated build notice's path, a locked fixed path, or an uploaded source, its hash checked. */
  async function known(hash: string): Promise<Resolved | undefined> {
    const fromNotice = options.notices.lookup(hash)
    if (fromNotice) return { entry: fromNotice, kind: 'notice' }
    const fixed = options.fixed.get(hash)
    if (fixed) return { entry: await checkFixed(fixed), kind: 'fixed' }
    const source = options.notices.lookupSource(hash)
    if (source) return { entry: await checkFixed(source), kind: 'source' }
    return undefined
  }

  /** What the gateway may say of a hash part: a path it vouches for, or why not. */
  async function resolve(hash: string): Promise<Resolved | { reason: string }> {
    const first = await known(hash)
    if (first) return first
    await options.notices.refresh(options.refreshIntervalMs ?? 1000)
    const fresh = await known(hash)
    if (fresh) return fresh
    if (options.notices.isConflicted(hash)) return { reason: 'validated notices disagree on this path' }
    const refusal = options.notices.sourceRefusal(hash)
    if (refusal) return { reason: refusal }
    return { reason: 'no notice validated on-chain vouches for this path, and no lock fixes it' }
  }

  /** Upstream trouble and refused NARs are answered 502 with the reason, and logged. */
  function refuse(what: string, error: unknown): Response {
    if (!(error instanceof NarMismatchError) && !(error instanceof UpstreamError)) throw error
    served.refused++
    log(`refused ${what}: ${error.message}`)
    return new Response(`${error.message}\n`, { status: 502, headers: { 'content-type': 'text/plain' } })
  }

  const notFound = (what: string, reason: string) => {
    served.notFound++
    log(`404 ${what}: ${reason}`)
    return new Response(`${reason}\n`, { status: 404, headers: { 'content-type': 'text/plain' } })
  }

  const app = new Hono()
  // Anything else (the node or the chain unreachable, say) fails this request alone, with its reason.
  app.onError((error, c) => {
    log(`error on ${c.req.method} ${c.req.path}: ${error.message}`)
    return c.text(`${error.message}\n`, 500)
  })
  app.get('/nix-cache-info', (c) => c.text('StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n'))

  app.get('/cartenix/status', (c) => c.json(status()))

  app.get('/:file', async (c) => {
    const file = c.req.param('file')
    const hash = hashPattern.exec(file)?.[1]
    if (!hash) return notFound(`/${file}`, 'not a narinfo name (32 base-32 characters and .narinfo)')
    try {
      const found = await resolve(hash)
      if ('reason' in found) return notFound(`/${file}`, found.reason)
      served.narinfo++
      return c.text(renderNarInfo(found.entry, `nar/${hash}.nar`, options.signer), 200, { 'content-type': 'text/x-nix-narinfo' })
    } catch (error) {
      return refuse(`/${file}`, error)
    }
  })

  app.get('/nar/:file', async (c) => {
    const file = c.req.param('file')
    const hash = narPattern.exec(file)?.[1]
    if (!hash) return notFound(`/nar/${file}`, 'not a NAR name (32 base-32 characters and .nar)')
    try {
      const found = await resolve(hash)
      if ('reason' in found) return notFound(`/nar/${file}`, found.reason)
      const spooled = await checkedNar(found.entry)
      const stream = createReadStream(spooled.file, { highWaterMark: 1 << 20 })
      stream.once('close', () => void rm(spooled.file, { force: true }))
      served.nar++
      log(`served ${found.entry.path} (${spooled.size} bytes, ${servedBecause[found.kind]}, NAR hash checked)`)
      return new Response(Readable.toWeb(stream) as ReadableStream, {
        status: 200,
        headers: { 'content-type': 'application/x-nix-nar', 'content-length': String(spooled.size) },
      })
    } catch (error) {
      return refuse(`/nar/${file}`, error)
    }
  })

  function status(): CacheGatewayStatus {
    return { publicKey: options.signer.publicKey, upstream: options.upstream.description, notices: options.notices.status(), fixedPaths: options.fixed.size, served: { ...served } }
  }

  return { app, status }
}

const servedBecause = { notice: 'validated notice', fixed: 'locked fixed hash', source: 'uploaded source, SourceAdded notice validated' } as const

/**
 * The most bytes an uploaded source's NAR can have: its notice's size is the NAR's (recursive)
 * or the file's, which a NAR frames in under 160 bytes (flat).
 */
const sourceNarBound = (source: SourcePath) => (source.mode === 'recursive' ? source.size : source.size + 160n)

const nix32 = (hex: string) => `sha256:${bytesToNix32(Buffer.from(hex.replace(/^0x/, ''), 'hex'))}`

export type CacheGateway = { url: string; port: number; status: () => CacheGatewayStatus; close: () => Promise<void> }

/**
 * Starts the gateway on host:port (port 0 picks a free one), with a spool directory of its own
 * that is removed on close.
 *
 * @example
 * const gateway = await startCacheGateway({ notices, fixed, upstream, signer, port: 0 })
 * // nix.conf: substituters = ${gateway.url}   trusted-public-keys = ${signer.publicKey}
 */
export async function startCacheGateway(options: CacheGatewayOptions & { host?: string; port?: number }): Promise<CacheGateway> {
  const spoolDir = await mkdtemp(join(tmpdir(), 'cartenix-cache-'))
  const { app, status } = createCacheApp({ ...options, spoolDir })
  const host = options.host ?? '127.0.0.1'
  const server = await new Promise<ServerType>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: host }, () => resolve(started))
    started.once('error', reject)
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0)
  return {
    url: `http://${host}:${port}`,
    port,
    status,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Nix keeps its connections alive; they must not hold the gateway open.
      if ('closeAllConnections' in server) server.closeAllConnections()
      await closed
      await rm(spoolDir, { recursive: true, force: true })
    },
  }
}
