/**
 * Uploads in progress are bounded (CARTENIX_UPLOAD_MAX_PENDING), and an idle one gives its place to
 * a new one after CARTENIX_UPLOAD_EXPIRY_BLOCKS: nobody can hold every place for ever. The back
 * end's advance handler in-process, its reports over real HTTP, real Nix for store paths.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex } from 'viem'
import { advanceRequest } from '../../dapp/protocol/rollupHttp.ts'
import { encodeUploadChunk } from '../../dapp/protocol/sourceUpload.ts'
import { loadConfig } from '../../dapp/config.ts'
import type { BackendContext } from '../../dapp/context.ts'
import { handleAdvance } from '../../dapp/handlers/advance.ts'
import { ResultLedger } from '../../dapp/results.ts'
import { createRollupClient } from '../../dapp/protocol/rollupClient.ts'
import { UploadStore } from '../../dapp/uploads.ts'
import { reportsIn, startRollupRecorder, type RollupRecorder } from '../hostile/rollup-recorder.ts'

let recorder: RollupRecorder
let context: BackendContext
let inputIndex = 0

beforeAll(async () => {
  recorder = await startRollupRecorder()
  const config = loadConfig({ ROLLUP_HTTP_SERVER_URL: recorder.url, CARTENIX_UPLOAD_MAX_PENDING: '2', CARTENIX_UPLOAD_EXPIRY_BLOCKS: '10' })
  context = { rollup: createRollupClient(recorder.url), config, system: 'x86_64-linux', results: new ResultLedger(), uploads: new UploadStore(), log: () => {} }
})
afterAll(async () => {
  await recorder?.close()
})

/** Sends the first of two chunks of a fresh source from `sender` at `block`; returns the verdict and the report. */
async function firstChunk(sender: string, block: number) {
  const name = `idle-${randomBytes(4).toString('hex')}.tar.gz`
  const payload = encodeUploadChunk({ name, mode: 'flat', sha256: randomBytes(32).toString('hex'), size: 8n, index: 0, count: 2, data: bytesToHex(new Uint8Array(4)) })
  const since = recorder.calls.length
  const metadata = { chain_id: 31337, app_contract: `0x${'cf'.repeat(20)}`, msg_sender: sender, block_number: block, block_timestamp: block, prev_randao: '0x0', input_index: inputIndex++ }
  const status = await handleAdvance(context, advanceRequest.parse({ request_type: 'advance_state', data: { metadata, payload } }))
  context.uploads.settle(status === 'accept')
  const [report] = reportsIn(recorder.calls.slice(since))
  return { status, report: report?.report, name }
}

describe('uploads in progress', () => {
  it('take no new upload beyond the limit until one has been idle long enough, and then drop it', async () => {
    const alice = `0x${'a1'.repeat(20)}`
    const bob = `0x${'b0'.repeat(20)}`
    const first = await firstChunk(alice, 100)
    expect(first).toMatchObject({ status: 'accept', report: { type: 'upload-progress' } })
    expect((await firstChunk(alice, 104)).status).toBe('accept')
    const refused = await firstChunk(bob, 109)
    expect(refused).toMatchObject({
      status: 'reject',
      report: { type: 'rejected', reason: 'too many uploads in progress (2, CARTENIX_UPLOAD_MAX_PENDING), none idle for 10 blocks (CARTENIX_UPLOAD_EXPIRY_BLOCKS)' },
    })
    expect(context.uploads.pendingCount).toBe(2)

    // Block 110: the upload of block 100 has been idle for 10 blocks; the one of block 104 has not.
    const taken = await firstChunk(bob, 110)
    expect(taken.status).toBe('accept')
    expect(context.uploads.pendingCount).toBe(2)
    expect(context.uploads.list().map((u) => u.name)).not.toContain(first.name)
    expect(context.uploads.list().map((u) => u.lastBlock).sort()).toEqual([104, 110])
  })
})
