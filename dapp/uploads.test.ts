import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { UploadStore, type UploadKey } from './uploads.ts'

const key: UploadKey = { uploader: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8', name: 'x.tar.gz', mode: 'flat', sha256: 'ab'.repeat(32) }
const meta = { ...key, size: 6, count: 3, lastBlock: 100 }
const bytes = (text: string) => new TextEncoder().encode(text)
const sha = (text: string) => createHash('sha256').update(text).digest('hex')

describe('uploads in progress', () => {
  it('keep what accepted inputs sent across a restart, and nothing of rejected ones', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cartenix-uploads-test-')), 'uploads')
    const store = new UploadStore(dir)
    store.stageChunk(meta, 0, bytes('ab'))
    expect(store.get(key)?.chunks.get(0)).toBe(sha('ab'))
    store.settle(true)
    store.stageChunk(meta, 1, bytes('XX'))
    store.settle(false)
    expect([...(store.get(key)?.chunks.keys() ?? [])]).toEqual([0])
    expect(readdirSync(join(dir, '.staging'))).toEqual([])

    const restarted = new UploadStore(dir)
    expect(restarted.get(key)?.chunks).toEqual(new Map([[0, sha('ab')]]))
    expect(restarted.pendingCount).toBe(1)
    // Another uploader's upload of the same source is another upload.
    expect(restarted.get({ ...key, uploader: '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc' })).toBeUndefined()

    expect(restarted.get(key)?.lastBlock).toBe(100)
    restarted.stageChunk({ ...meta, lastBlock: 120 }, 1, bytes('cd'))
    restarted.settle(true)
    expect(new UploadStore(dir).get(key)?.lastBlock).toBe(120)
    restarted.stageChunk(meta, 1, bytes('cd'))
    restarted.stageChunk(meta, 2, bytes('ef'))
    const whole = join(dir, '..', 'whole')
    expect(await restarted.assemble(key, whole)).toEqual({ sha256: sha('abcdef'), size: 6 })
    expect(readFileSync(whole, 'utf8')).toBe('abcdef')
    restarted.stageDrop([key])
    expect(restarted.get(key)).toBeUndefined()
    restarted.settle(true)
    expect(restarted.pendingCount).toBe(0)
    expect(readdirSync(dir)).toEqual(['.staging'])
    expect(new UploadStore(dir).pendingCount).toBe(0)
  })

  it('replace a chunk that is sent again', () => {
    const store = new UploadStore()
    store.stageChunk(meta, 0, bytes('XX'))
    store.settle(true)
    store.stageChunk(meta, 0, bytes('ab'))
    store.settle(true)
    expect(store.get(key)?.chunks).toEqual(new Map([[0, sha('ab')]]))
  })
})
