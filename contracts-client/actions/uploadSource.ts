import { bytesToHex, parseEventLogs, sha256, type Account, type Address, type Chain, type Client, type Transport } from 'viem'
import { waitForTransactionReceipt, writeContract } from 'viem/actions'
import { inputBoxAbi } from '../abi/rollups.ts'
import { chunkCount, chunkRange, encodeUploadChunk, type SourceAdded, type SourceMode } from '../../dapp/protocol/sourceUpload.ts'
import { CartenixError } from '../../dapp/lib/errors.ts'
import { InputNotAcceptedError, WaitTimeoutError } from '../errors/build.ts'
import { isNotFound } from '../errors/node.ts'
import type { NodeClient } from '../node/client.ts'
import type { CartenixOutput } from '../node/outputs.ts'
import { getInput } from './getInput.ts'
import { inspectState } from './inspectState.ts'
import { listOutputs } from './listOutputs.ts'
import { listReports } from './listReports.ts'
import { uploadAnswer } from '../../dapp/protocol/inspect.ts'

export type UploadProgress =
  | { phase: 'planned'; count: number; held: number; size: number; storePath: string }
  | { phase: 'sent'; index: number; inputIndex: bigint; sent: number; toSend: number; gasUsed: bigint }
  | { phase: 'processed'; inputIndex: bigint; processed: number; toSend: number }

export type UploadSourceParameters = {
  application: Address
  inputBox: Address
  /** The node's inspect endpoint without the application (`http://127.0.0.1:10011/inspect` on the dev node). */
  inspectUrl: string
  /** The store path name, as nixpkgs names the source (`figlet-2.2.5.tar.gz`). */
  name: string
  /** `flat` (default): `data` is the file. `recursive`: `data` is the NAR of a file or directory (`nix-store --dump`). */
  mode?: SourceMode
  data: Uint8Array
  onProgress?: (progress: UploadProgress) => void
  timeoutMs?: number
}

export type UploadSourceReturnType = {
  storePath: string
  sha256: string
  /** The machine had the source already: nothing was sent. */
  alreadyPresent: boolean
  count: number
  /** Chunks the machine held already (an interrupted upload resumed). */
  skipped: number
  inputIndices: bigint[]
  gasUsed: bigint
  /** Wei paid for gas. */
  fee: bigint
  /** The SourceAdded notice of the input that completed the upload. */
  notice?: CartenixOutput & { source: SourceAdded }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Brings a fixed-output source to the machine through the rollup, in chunks, one input each.
 * It first asks the back end (inspect) what it holds of this source from this sender, and sends
 * only the chunks it lacks or holds with other bytes: an interrupted upload resumes, and one whose
 * final check failed is repaired. Waits until every input is processed and returns the store path.
 *
 * @example
 * const { storePath, gasUsed } = await uploadSource(walletClient, node, {
 *   application, inputBox, inspectUrl: 'http://127.0.0.1:10011/inspect', name: 'figlet-2.2.5.tar.gz', data: await readFile(file),
 * })
 */
export async function uploadSource(
  client: Client<Transport, Chain, Account>,
  node: NodeClient,
  parameters: UploadSourceParameters,
): Promise<UploadSourceReturnType> {
  const { application, name, data } = parameters
  const mode = parameters.mode ?? 'flat'
  const digest = sha256(data).slice(2)
  const query = { query: 'upload' as const, uploader: client.account.address, name, mode, sha256: digest }
  const { reports } = await inspectState({ url: parameters.inspectUrl, application, query })
  const answer = uploadAnswer.safeParse(reports[0]?.json)
  if (!answer.success) throw new CartenixError(`The back end did not answer the upload query`, { details: JSON.stringify(reports.map((r) => r.json)) })
  const { storePath, present, pending } = answer.data
  const base = { storePath, sha256: digest, inputIndices: [] as bigint[], gasUsed: 0n, fee: 0n }
  if (present) return { ...base, alreadyPresent: true, count: 0, skipped: 0 }
  if (pending && pending.size !== data.length) {
    throw new CartenixError(`The machine holds an upload of ${name} with ${pending.size} bytes; this one has ${data.length}`)
  }
  const count = pending?.count ?? chunkCount(data.length, name)
  const held = new Map(pending?.chunks.map((c) => [c.index, c.sha256]))
  const chunkOf = (index: number) => {
    const { start, end } = chunkRange(data.length, count, index)
    return data.subarray(start, end)
  }
  const toSend = Array.from({ length: count }, (_, index) => index).filter((index) => held.get(index) !== sha256(chunkOf(index)).slice(2))
  parameters.onProgress?.({ phase: 'planned', count, held: count - toSend.length, size: data.length, storePath })

  const result: UploadSourceReturnType = { ...base, alreadyPresent: false, count, skipped: count - toSend.length }
  for (const index of toSend) {
    const payload = encodeUploadChunk({ name, mode, sha256: digest, size: BigInt(data.length), index, count, data: bytesToHex(chunkOf(index)) })
    const hash = await writeContract(client, { address: parameters.inputBox, abi: inputBoxAbi, functionName: 'addInput', args: [application, payload] })
    const receipt = await waitForTransactionReceipt(client, { hash })
    if (receipt.status !== 'success') throw new CartenixError(`The upload transaction ${hash} reverted`)
    const [added] = parseEventLogs({ abi: inputBoxAbi, logs: receipt.logs, eventName: 'InputAdded' })
    if (!added) throw new CartenixError(`Transaction ${hash} added no input`)
    const inputIndex = added.args.index
    result.inputIndices.push(inputIndex)
    result.gasUsed += receipt.gasUsed
    result.fee += receipt.gasUsed * receipt.effectiveGasPrice
    parameters.onProgress?.({ phase: 'sent', index, inputIndex, sent: result.inputIndices.length, toSend: toSend.length, gasUsed: result.gasUsed })
  }

  const deadline = Date.now() + (parameters.timeoutMs ?? 30 * 60_000)
  for (const [n, inputIndex] of result.inputIndices.entries()) {
    for (;;) {
      const input = await getInput(node, { application, inputIndex }).catch((error: unknown) => {
        if (isNotFound(error)) return undefined
        throw error
      })
      if (input && input.status !== 'NONE') {
        if (input.status !== 'ACCEPTED') throw new InputNotAcceptedError({ inputIndex, status: input.status, reports: await listReports(node, { application, inputIndex }) })
        break
      }
      if (Date.now() > deadline) throw new WaitTimeoutError({ what: `input ${inputIndex} to be processed`, timeoutMs: parameters.timeoutMs ?? 30 * 60_000 })
      await sleep(250)
    }
    parameters.onProgress?.({ phase: 'processed', inputIndex, processed: n + 1, toSend: toSend.length })
  }
  const last = result.inputIndices.at(-1)
  if (last !== undefined) {
    const { outputs } = await listOutputs(node, { application, inputIndex: last })
    result.notice = outputs.find((o): o is CartenixOutput & { source: SourceAdded } => o.source !== undefined)
    if (!result.notice) throw new CartenixError(`Input ${last} completed no upload: the machine still lacks chunks of ${name}; run the upload again to resume`)
  }
  return result
}
