import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { hexToBytes, keccak256, slice, type Address, type Hex } from 'viem'
import type * as z from 'zod'
import { chunkRange, decodeUploadChunk, encodeSourceAdded, isValidChunking, uploadChunkFields } from '../protocol/sourceUpload.ts'
import type { uploadAnswer, uploadQuery } from '../protocol/inspect.ts'
import type { RejectedReport } from '../protocol/reports.ts'
import { addFixed, deletePath, fixedOutputPath, invalidPaths, restoreNar } from '../nix/store.ts'
import { RollupRequestError } from '../protocol/rollupClient.ts'
import { type AdvanceRequest, type FinishStatus } from '../protocol/rollupHttp.ts'
import { sendReport, type BackendContext } from '../context.ts'
import type { UploadKey } from '../uploads.ts'

/** Who owns an upload: the input's sender, or for an EtherPortal deposit the depositor. */
function uploaderOf(context: BackendContext, request: AdvanceRequest): Address {
  const { metadata, payload } = request.data
  if (context.config.etherPortal && metadata.msg_sender.toLowerCase() === context.config.etherPortal) return slice(payload, 0, 20).toLowerCase() as Address
  return metadata.msg_sender.toLowerCase() as Address
}

/**
 * One chunk of a source upload (dapp/protocol/sourceUpload.ts). It is checked against the
 * upload it belongs to and staged; the input whose chunk completes the upload has the whole
 * hashed, and only when the sha256 is the declared one is the source added to the store and a
 * SourceAdded notice emitted. Anything wrong rejects the input with a report that says why; the
 * uploads in progress then stay as they were (UploadStore.settle).
 */
export async function handleUpload(context: BackendContext, request: AdvanceRequest, payload: Hex): Promise<FinishStatus> {
  const reject = async (reason: string, extra: Omit<RejectedReport, 'type' | 'reason'> = {}): Promise<FinishStatus> => {
    await sendReport(context, { type: 'rejected', reason, ...extra })
    return 'reject'
  }
  let decoded: unknown
  try {
    decoded = decodeUploadChunk(payload)
  } catch (error) {
    return reject(`not an upload chunk: ${(error as Error).message.split('\n')[0]}`)
  }
  const parsed = uploadChunkFields.safeParse(decoded)
  if (!parsed.success) return reject(`not an upload chunk: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  const chunk = parsed.data
  const maxBytes = context.config.uploadMaxBytes
  if (chunk.size > BigInt(maxBytes)) return reject(`source too large: ${chunk.size} bytes declared, at most ${maxBytes} (CARTENIX_UPLOAD_MAX_MB)`, { name: chunk.name })
  const size = Number(chunk.size)
  if (!isValidChunking(size, chunk.count)) return reject(`${chunk.count} chunks cannot cut ${size} bytes with none empty`, { name: chunk.name })
  if (chunk.index >= chunk.count) return reject(`chunk ${chunk.index} is out of range: the upload has ${chunk.count} chunks (0 to ${chunk.count - 1})`, { name: chunk.name })
  const range = chunkRange(size, chunk.count, chunk.index)
  const bytes = hexToBytes(chunk.data as Hex)
  if (bytes.length !== range.end - range.start) {
    return reject(`chunk ${chunk.index} has ${bytes.length} bytes; chunk ${chunk.index} of ${chunk.count} of ${size} bytes has ${range.end - range.start}`, { name: chunk.name })
  }

  const key: UploadKey = { uploader: uploaderOf(context, request), name: chunk.name, mode: chunk.mode, sha256: chunk.sha256 }
  const storePath = await fixedOutputPath(key)
  if (!(await invalidPaths([storePath])).has(storePath)) return reject(`source already present: ${storePath}`, { storePath })
  const existing = context.uploads.get(key)
  if (existing && (existing.size !== size || existing.count !== chunk.count)) {
    return reject(`this chunk says ${size} bytes in ${chunk.count} chunks; the upload in progress has ${existing.size} bytes in ${existing.count}`, { storePath })
  }
  const block = request.data.metadata.block_number
  if (!existing && context.uploads.pendingCount >= context.config.uploadMaxPending) {
    // Room is made from uploads nobody has added to for a while (block numbers: every machine agrees).
    const expired = context.uploads.list().filter((u) => block - u.lastBlock >= context.config.uploadExpiryBlocks)
    if (context.uploads.pendingCount - expired.length >= context.config.uploadMaxPending) {
      return reject(
        `too many uploads in progress (${context.uploads.pendingCount}, CARTENIX_UPLOAD_MAX_PENDING), none idle for ${context.config.uploadExpiryBlocks} blocks (CARTENIX_UPLOAD_EXPIRY_BLOCKS)`,
        { storePath },
      )
    }
    context.log(`input ${request.data.metadata.input_index}: dropping ${expired.length} idle uploads`)
    context.uploads.stageDrop(expired)
  }
  context.uploads.stageChunk({ ...key, size, count: chunk.count, lastBlock: block }, chunk.index, bytes)
  const upload = context.uploads.get(key)
  const received = upload?.chunks.size ?? 0
  context.log(`input ${request.data.metadata.input_index}: ${key.name} chunk ${chunk.index} (${received}/${chunk.count})`)
  if (received < chunk.count) {
    await sendReport(context, { type: 'upload-progress', name: key.name, storePath, received, count: chunk.count })
    return 'accept'
  }
  return complete(context, request, payload, key, storePath, size, reject)
}

async function complete(
  context: BackendContext,
  request: AdvanceRequest,
  payload: Hex,
  key: UploadKey,
  storePath: string,
  size: number,
  reject: (reason: string, extra?: Omit<RejectedReport, 'type' | 'reason'>) => Promise<FinishStatus>,
): Promise<FinishStatus> {
  const scratch = await mkdtemp(join(context.uploads.directory, '.staging', 'assemble-'))
  let added: string | undefined
  try {
    const whole = join(scratch, key.mode === 'flat' ? key.name : `${key.name}.nar`)
    const assembled = await context.uploads.assemble(key, whole)
    if (assembled.size !== size || assembled.sha256 !== key.sha256) {
      const chunks = [...(context.uploads.get(key)?.chunks ?? [])].sort(([a], [b]) => a - b).map(([index, sha256]) => ({ index, sha256 }))
      return await reject(`sha256 mismatch: the chunks give ${assembled.sha256}, the upload declares ${key.sha256}; nothing was added (resend the chunks whose hashes differ from yours)`, { storePath, chunks })
    }
    let source = whole
    if (key.mode === 'recursive') {
      source = join(scratch, key.name)
      await restoreNar(whole, source).catch((error: unknown) => {
        throw new NotANarError((error as Error).message)
      })
    }
    added = await addFixed(source, key.mode)
    if (added !== storePath) {
      // Only a NAR that Nix does not write that way (unsorted entries, say) hashes otherwise once restored.
      await deletePath(added)
      added = undefined
      return await reject(`the upload is not a canonical NAR: restored and added, it is not ${storePath}; nothing was added`, { storePath })
    }
    // This upload, and anyone else's of the same source: none can complete any more.
    const sameSource = context.uploads.list().filter((u) => u.name === key.name && u.mode === key.mode && u.sha256 === key.sha256)
    context.uploads.stageDrop([key, ...sameSource])
    const { metadata } = request.data
    const notice = await context.rollup.notice(
      encodeSourceAdded({ requestHash: keccak256(payload), inputIndex: BigInt(metadata.input_index), uploader: key.uploader as Address, name: key.name, mode: key.mode, sha256: key.sha256, size: BigInt(size), storePath }),
    )
    context.log(`input ${metadata.input_index}: notice ${notice} source added ${storePath}`)
    await sendReport(context, { type: 'source-added', name: key.name, mode: key.mode, sha256: key.sha256, size, storePath })
    added = undefined
    return 'accept'
  } catch (error) {
    if (error instanceof NotANarError) return await reject(`the upload is not a NAR: ${error.message}`, { storePath })
    if (!(error instanceof RollupRequestError)) throw error
    return await reject(`could not emit the notice: ${error.message}`, { storePath })
  } finally {
    // A source added for an input that is not accepted leaves the store.
    if (added) await deletePath(added).catch((error: unknown) => context.log(`could not remove ${added}: ${String(error)}`))
    await rm(scratch, { recursive: true, force: true })
  }
}

class NotANarError extends Error {
  override name = 'NotANarError' as const
}

/** The answer to an upload query: what the machine holds of a source (to resume, or to skip). */
export async function uploadStatus(context: BackendContext, query: z.output<typeof uploadQuery>): Promise<z.input<typeof uploadAnswer>> {
  const key: UploadKey = { uploader: query.uploader.toLowerCase(), name: query.name, mode: query.mode, sha256: query.sha256 }
  const storePath = await fixedOutputPath(key)
  const present = !(await invalidPaths([storePath])).has(storePath)
  const pending = context.uploads.get(key)
  return {
    query: 'upload',
    storePath,
    present,
    pending: pending
      ? { size: pending.size, count: pending.count, chunks: [...pending.chunks].sort(([a], [b]) => a - b).map(([index, sha256]) => ({ index, sha256 })) }
      : null,
  }
}
