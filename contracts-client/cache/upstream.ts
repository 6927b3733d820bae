import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { access } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { createBrotliDecompress, createGunzip } from 'node:zlib'
import { nixEnv } from '../../dapp/nix/env.ts'
import { UpstreamError } from '../errors/cache.ts'
import { hashPart } from './narinfo.ts'

/** An untrusted source of NAR bytes: whatever it sends is hashed and checked before use. */
export type Upstream = {
  /** How the user named it. */
  description: string
  /** The NAR of a store path, uncompressed; `done` settles once the source has finished cleanly. */
  open: (storePath: string) => Promise<{ stream: Readable; done: Promise<void> }>
}

/**
 * `store` (this machine's Nix store), `store:<store URI>` (another Nix store, e.g.
 * `local?root=/x`), both read with `nix store dump-path`, or a binary cache URL (`http://…`,
 * `https://…`, `file:///…`).
 */
export function parseUpstream(text: string): Upstream | undefined {
  if (text === 'store') return storeUpstream(text, undefined)
  if (text.startsWith('store:') && text.length > 'store:'.length) return storeUpstream(text, text.slice('store:'.length))
  if (/^(https?|file):\/\//.test(text)) return binaryCacheUpstream(text.replace(/\/+$/, ''))
  return undefined
}

/** A child process's stdout as the stream; `done` rejects with its stderr when it fails. */
function processStream(file: string, args: string[], fail: (problem: string) => UpstreamError, input?: Readable) {
  const child = spawn(file, args, { env: nixEnv(), stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000)
  })
  // The reader may stop early (a NAR too large): the writer's broken pipe is not an error of its own.
  child.stdin.on('error', () => {})
  if (input) {
    input.pipe(child.stdin)
    input.on('error', (error) => {
      stderr += `\nreading the upstream: ${error.message}`
      child.kill()
    })
  } else {
    child.stdin.end()
  }
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (error) => reject(fail(`${file} could not run: ${error.message}`)))
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(fail(`${file} exited with ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' ')}`))))
  })
  // If nobody waits on `done` (the stream failed first), its rejection must not go unhandled.
  done.catch(() => {})
  return { stream: child.stdout, done }
}

function storeUpstream(description: string, store: string | undefined): Upstream {
  return {
    description,
    open: async (storePath) => {
      const fail = (problem: string) => new UpstreamError({ storePath, upstream: description, problem })
      // Not `nix-store --dump`: it reads the path from this machine's /nix/store whatever --store says.
      return processStream('nix', ['store', 'dump-path', ...(store ? ['--store', store] : []), storePath], fail)
    },
  }
}

function binaryCacheUpstream(base: string): Upstream {
  const description = base
  const get = async (url: string, storePath: string): Promise<Readable> => {
    const fail = (problem: string, cause?: unknown) => new UpstreamError({ storePath, upstream: description, problem, cause })
    if (url.startsWith('file://')) {
      const path = fileURLToPath(url)
      await access(path).catch((cause: unknown) => {
        throw fail(`cannot read ${path}`, cause)
      })
      return createReadStream(path)
    }
    const response = await fetch(url).catch((cause: unknown) => {
      throw fail(`GET ${url} failed`, cause)
    })
    if (!response.ok || !response.body) throw fail(`GET ${url} answered ${response.status}`)
    return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream)
  }
  const text = async (url: string, storePath: string) => {
    const chunks: Buffer[] = []
    for await (const chunk of await get(url, storePath)) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }
  return {
    description,
    open: async (storePath) => {
      const fail = (problem: string) => new UpstreamError({ storePath, upstream: description, problem })
      // The upstream's narinfo is untrusted too: only where its NAR is and how it is compressed are read.
      const fields = new Map(
        (await text(`${base}/${hashPart(storePath)}.narinfo`, storePath))
          .split('\n')
          .map((line) => line.split(': ', 2) as [string, string])
          .filter((pair) => pair.length === 2),
      )
      if (fields.get('StorePath') !== storePath) throw fail(`its narinfo is for ${fields.get('StorePath') ?? 'no path'}`)
      const narUrl = fields.get('URL')
      if (!narUrl || narUrl.includes('..') || narUrl.startsWith('/') || narUrl.includes('://')) throw fail(`its narinfo has an unusable URL: ${narUrl ?? 'none'}`)
      const raw = await get(`${base}/${narUrl}`, storePath)
      const compression = fields.get('Compression') ?? 'bzip2'
      const ok = Promise.resolve()
      switch (compression) {
        case 'none':
          return { stream: raw, done: ok }
        case 'gzip':
          return { stream: raw.pipe(createGunzip()), done: ok }
        case 'br':
          return { stream: raw.pipe(createBrotliDecompress()), done: ok }
        case 'xz':
        case 'bzip2':
        case 'zstd':
          return processStream(compression, ['-dc'], fail, raw)
        default:
          throw fail(`its NAR is compressed with ${compression}, which this gateway does not read`)
      }
    },
  }
}
