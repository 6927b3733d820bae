import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

export type SpooledNar = { file: string; sha256: Buffer; size: bigint }

/** More bytes than the NAR may have: the upstream sent something else. */
export class NarTooLargeError extends Error {
  override name = 'NarTooLargeError' as const
  constructor(readonly limit: bigint) {
    super(`the upstream sent more than ${limit} bytes`)
  }
}

/**
 * Writes a NAR to a file while hashing it; stops as soon as it passes `maxBytes`. Nothing is
 * served from the file until the caller has compared the hash.
 */
export async function spoolNar(source: Readable, file: string, maxBytes: bigint): Promise<SpooledNar> {
  const hash = createHash('sha256')
  let size = 0n
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += BigInt(chunk.length)
      if (size > maxBytes) return done(new NarTooLargeError(maxBytes))
      hash.update(chunk)
      done(null, chunk)
    },
  })
  await pipeline(source, meter, createWriteStream(file, { highWaterMark: 1 << 20 }))
  return { file, sha256: hash.digest(), size }
}

/**
 * The sha256 of the one regular file a NAR holds (what a flat fixed-output hash covers), or
 * undefined when the NAR is anything else. A NAR string is a little-endian u64 length, the
 * bytes, and zero padding to 8 bytes.
 */
export async function flatFileSha256(file: string): Promise<Buffer | undefined> {
  const handle = await open(file, 'r')
  try {
    let position = 0
    const u64 = async () => {
      const buffer = Buffer.alloc(8)
      const { bytesRead } = await handle.read(buffer, 0, 8, position)
      if (bytesRead !== 8) return undefined
      position += 8
      return buffer.readBigUInt64LE()
    }
    const token = async () => {
      const length = await u64()
      if (length === undefined || length > 64n) return undefined
      const padded = Number((length + 7n) & ~7n)
      const buffer = Buffer.alloc(padded)
      const { bytesRead } = await handle.read(buffer, 0, padded, position)
      if (bytesRead !== padded) return undefined
      position += padded
      return buffer.subarray(0, Number(length)).toString('latin1')
    }
    for (const expected of ['nix-archive-1', '(', 'type', 'regular']) if ((await token()) !== expected) return undefined
    let next = await token()
    if (next === 'executable') {
      if ((await token()) !== '') return undefined
      next = await token()
    }
    if (next !== 'contents') return undefined
    const length = await u64()
    if (length === undefined) return undefined
    const start = position
    const end = start + Number(length)
    const padded = Number((length + 7n) & ~7n)
    position = start + padded
    if ((await token()) !== ')') return undefined
    if ((await handle.stat()).size !== position) return undefined
    const hash = createHash('sha256')
    if (length > 0n) for await (const chunk of createReadStream(file, { start, end: end - 1 })) hash.update(chunk as Buffer)
    return hash.digest()
  } finally {
    await handle.close()
  }
}
