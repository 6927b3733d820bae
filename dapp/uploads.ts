import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { SourceMode } from './protocol/sourceUpload.ts'

/** What identifies an upload in progress: who sends it, and the source's name, mode and hash. */
export type UploadKey = { uploader: string; name: string; mode: SourceMode; sha256: string }

export type PendingUpload = UploadKey & {
  size: number
  count: number
  /** The block number of the input that brought its latest chunk (expiry counts from it). */
  lastBlock: number
  /** Chunk index → sha256 (hex) of the bytes held. */
  chunks: Map<number, string>
}

type StagedChange =
  | { kind: 'chunk'; id: string; upload: Omit<PendingUpload, 'chunks'>; index: number; sha256: string; file: string }
  | { kind: 'drop'; ids: string[] }

/**
 * Uploads in progress, their chunks on disk. A chunk is staged while its input is processed and
 * becomes part of the upload only once the input is accepted (`settle`), like ResultLedger's
 * results: a rejected or excepted input leaves every upload as it was.
 *
 * Layout: `<dir>/<id>/upload.json` and `<dir>/<id>/<index>.chunk`, where id is sha256 of the key;
 * staged files wait in `<dir>/.staging` and are moved in by rename. With CARTENIX_STATE_DIR this
 * is `$CARTENIX_STATE_DIR/uploads`, read back at start (the VM reboots its back end after a
 * rollback); without it, a fresh temporary directory that no restart reads.
 */
export class UploadStore {
  readonly directory: string
  readonly #staging: string
  #pending = new Map<string, PendingUpload>()
  #staged: StagedChange[] = []

  constructor(directory?: string) {
    this.directory = directory ?? mkdtempSync(join(tmpdir(), 'cartenix-uploads-'))
    if (!directory) process.once('exit', () => rmSync(this.directory, { recursive: true, force: true }))
    this.#staging = join(this.directory, '.staging')
    // Whatever was staged when the process stopped belonged to an input that was never accepted.
    rmSync(this.#staging, { recursive: true, force: true })
    mkdirSync(this.#staging, { recursive: true })
    for (const id of readdirSync(this.directory).filter((n) => /^[0-9a-f]{64}$/.test(n))) {
      const meta = JSON.parse(readFileSync(join(this.directory, id, 'upload.json'), 'utf8')) as Omit<PendingUpload, 'chunks'>
      const chunks = new Map<number, string>()
      for (const file of readdirSync(join(this.directory, id)).filter((n) => /^\d+\.chunk$/.test(n))) {
        chunks.set(Number.parseInt(file, 10), createHash('sha256').update(readFileSync(join(this.directory, id, file))).digest('hex'))
      }
      this.#pending.set(id, { ...meta, chunks })
    }
  }

  static id(key: UploadKey): string {
    return createHash('sha256').update(JSON.stringify([key.uploader.toLowerCase(), key.name, key.mode, key.sha256])).digest('hex')
  }

  /** The upload as committed, with this input's staged chunks on top. */
  get(key: UploadKey): PendingUpload | undefined {
    const id = UploadStore.id(key)
    let upload = this.#pending.get(id)
    for (const change of this.#staged) {
      if (change.kind === 'drop' && change.ids.includes(id)) upload = undefined
      if (change.kind === 'chunk' && change.id === id) {
        upload = { ...change.upload, chunks: new Map(upload?.chunks ?? []) }
        upload.chunks.set(change.index, change.sha256)
      }
    }
    return upload
  }

  /** Committed uploads in progress, for every uploader. */
  list(): PendingUpload[] {
    return [...this.#pending.values()]
  }

  get pendingCount(): number {
    return this.#pending.size
  }

  /** Writes a chunk to the staging area; it joins the upload when the input is accepted. */
  stageChunk(upload: Omit<PendingUpload, 'chunks'>, index: number, bytes: Uint8Array): void {
    const file = join(this.#staging, randomBytes(8).toString('hex'))
    writeFileSync(file, bytes)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    this.#staged.push({ kind: 'chunk', id: UploadStore.id(upload), upload, index, sha256, file })
  }

  /** Drops the uploads of a source once it is in the store (from every uploader), on accept. */
  stageDrop(keys: readonly UploadKey[]): void {
    this.#staged.push({ kind: 'drop', ids: keys.map((k) => UploadStore.id(k)) })
  }

  /**
   * Concatenates an upload's chunks (committed and staged) into `target`, in order, and returns
   * the sha256 of the whole.
   */
  async assemble(key: UploadKey, target: string): Promise<{ sha256: string; size: number }> {
    const upload = this.get(key)
    if (!upload) throw new Error(`No upload of ${key.name} in progress`)
    const id = UploadStore.id(key)
    const hash = createHash('sha256')
    let size = 0
    const out = createWriteStream(target)
    for (let index = 0; index < upload.count; index++) {
      const file = this.#chunkFile(id, index)
      const input = createReadStream(file)
      input.on('data', (data) => {
        hash.update(data)
        size += data.length
      })
      await pipeline(input, out, { end: false })
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))
    return { sha256: hash.digest('hex'), size }
  }

  /** A chunk's file: the staged one when this input wrote it, else the committed one. */
  #chunkFile(id: string, index: number): string {
    const staged = [...this.#staged].reverse().find((c) => c.kind === 'chunk' && c.id === id && c.index === index)
    if (staged?.kind === 'chunk') return staged.file
    return join(this.directory, id, `${index}.chunk`)
  }

  /** Called with the verdict of the input that staged changes. */
  settle(accepted: boolean): void {
    const staged = this.#staged
    this.#staged = []
    if (!accepted) {
      for (const change of staged) if (change.kind === 'chunk') rmSync(change.file, { force: true })
      return
    }
    for (const change of staged) {
      if (change.kind === 'drop') {
        for (const id of change.ids) {
          this.#pending.delete(id)
          rmSync(join(this.directory, id), { recursive: true, force: true })
        }
        continue
      }
      const dir = join(this.directory, change.id)
      mkdirSync(dir, { recursive: true })
      // Written whole, then renamed: a reader (or a reboot) sees the old description or the new one.
      writeFileSync(join(dir, 'upload.json.new'), JSON.stringify(change.upload))
      renameSync(join(dir, 'upload.json.new'), join(dir, 'upload.json'))
      renameSync(change.file, join(dir, `${change.index}.chunk`))
      const chunks = this.#pending.get(change.id)?.chunks ?? new Map<number, string>()
      chunks.set(change.index, change.sha256)
      this.#pending.set(change.id, { ...change.upload, chunks })
    }
  }
}
