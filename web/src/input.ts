/**
 * One input, followed live: its status until the node has processed it, then what it produced.
 * A notice is decoded and, once its epoch's claim is accepted, validated on-chain from here
 * (Application.validateOutput); a voucher can be executed and the registry it calls read back.
 * An input that is one chunk of a source upload says so; the chunk that completed the upload
 * shows its SourceAdded notice, validated the same way.
 */
import { formatEther, getAddress, hexToBigInt, hexToString, keccak256, size as byteSize, slice, type Address, type Hex } from 'viem'
import { readContract } from 'viem/actions'
import {
  applicationAbi, describeInputStatus, executeVoucher, failureReportTypes, getInput, InputNotAcceptedError, listOutputs, readRegistry, requestBytes, validateNotice, waitForProof, waitForResult,
  type BuildResult, type CartenixOutput, type DecodedReport, type NodeInput, type RegistryEntry,
} from '../../contracts-client/index.ts'
import { chunkRange, decodeUploadChunk, isUploadPayload, type SourceAdded } from '../../dapp/protocol/sourceUpload.ts'
import { hexToNarHash } from '../../dapp/protocol/narHash.ts'
import type { Connection } from './connection.ts'
import { describeError, h, replace } from './dom.ts'

/** How long the page follows an input or waits for a claim before it says it stopped. */
const followMs = 60 * 60_000

/** One chunk of a source upload (a cartenixUpload(...) payload), as the page shows it. */
export type UploadRequest = { name: string; mode: string; sha256: string; size: bigint; index: number; count: number; dataBytes: number }

export type InputRequest = { bytes: Hex; text: string; deposit?: { from: Address; value: bigint }; upload?: UploadRequest }

/** A chunk's fields; a payload with the upload selector that does not decode is said to be so (the back end rejects it). */
function uploadRequest(bytes: Hex): { text: string; upload?: UploadRequest } {
  try {
    const chunk = decodeUploadChunk(bytes)
    const mode = chunk.mode === 0 ? 'flat' : chunk.mode === 1 ? 'recursive' : `mode ${chunk.mode}`
    const upload = { name: chunk.name, mode, sha256: chunk.sha256, size: chunk.size, index: chunk.index, count: chunk.count, dataBytes: byteSize(chunk.data) }
    return { text: `upload chunk ${chunk.index} of ${chunk.count} of ${chunk.name} (${chunk.sha256}, ${mode})`, upload }
  } catch (error) {
    return { text: `an upload chunk that does not decode (${byteSize(bytes)} bytes): ${describeError(error).split('\n')[0]}` }
  }
}

/** The request an input carries: through the EtherPortal, after the depositor and the value. */
export function inputRequest(input: NodeInput, etherPortal: Address | undefined): InputRequest {
  const payload = input.payload ?? input.rawData
  const bytes = requestBytes({ payload, sender: input.sender }, etherPortal)
  const deposit = bytes === payload ? undefined : { from: getAddress(slice(payload, 0, 20)), value: hexToBigInt(slice(payload, 20, 52)) }
  if (isUploadPayload(bytes)) return { bytes, ...uploadRequest(bytes), ...(deposit ? { deposit } : {}) }
  let text: string
  try {
    text = hexToString(bytes)
  } catch {
    text = bytes
  }
  return { bytes, text, ...(deposit ? { deposit } : {}) }
}

function renderRequestText(request: InputRequest): (HTMLElement | string)[] {
  const { upload } = request
  const range = upload && upload.index < upload.count && upload.size <= BigInt(Number.MAX_SAFE_INTEGER) ? chunkRange(Number(upload.size), upload.count, upload.index) : undefined
  return [
    h('pre', { id: 'request-text' }, request.text),
    upload
      ? h('p', { id: 'upload-chunk' },
          `${upload.dataBytes.toLocaleString('en')} bytes`,
          range ? ` (bytes ${range.start.toLocaleString('en')} to ${range.end.toLocaleString('en')})` : '',
          ` of a ${upload.mode === 'recursive' ? 'NAR' : 'file'} of ${upload.size.toLocaleString('en')} bytes, chunks numbered from 0`)
      : '',
    request.deposit ? h('p', { id: 'deposit' }, `with ${formatEther(request.deposit.value)} ETH from ${request.deposit.from}, through the EtherPortal`) : '',
  ]
}

function outputsTable(outputs: BuildResult['outputs'] | RegistryEntry['outputs'], id: string): HTMLElement {
  return h('table', { class: 'outputs', id },
    h('thead', {}, h('tr', {}, h('th', {}, 'output'), h('th', {}, 'store path'), h('th', {}, 'NAR hash'), h('th', {}, 'NAR size'))),
    h('tbody', {}, outputs.map((o) =>
      h('tr', {},
        h('td', {}, o.name),
        h('td', {}, h('code', { class: 'path' }, o.path)),
        h('td', {}, h('code', { class: 'nar-hex' }, o.narHash), h('br'), h('code', { class: 'nar-nix32' }, hexToNarHash(o.narHash))),
        h('td', { class: 'num' }, `${o.narSize.toLocaleString('en')} bytes`),
      ))),
  )
}

function renderNotice(notice: CartenixOutput & { result: BuildResult }, request: InputRequest | undefined): HTMLElement {
  const { result } = notice
  const matches = request !== undefined && keccak256(request.bytes) === result.requestHash
  return h('section', { id: 'notice' },
    h('h3', {}, `Notice ${notice.index}: `, h('span', { id: 'build-outcome', class: result.success ? 'ok' : 'error' }, result.success ? 'built' : 'the build failed')),
    h('dl', { class: 'facts' },
      h('dt', {}, 'drvPath'), h('dd', {}, h('code', { id: 'drv-path' }, result.drvPath)),
      h('dt', {}, 'system'), h('dd', {}, h('code', { id: 'system' }, result.system)),
      h('dt', {}, 'request hash'), h('dd', {}, h('code', {}, result.requestHash), ' ', matches ? h('span', { class: 'ok' }, "= keccak256 of this input's request") : h('span', { class: 'error' }, "≠ keccak256 of this input's request")),
      h('dt', {}, 'epoch'), h('dd', {}, String(notice.epochIndex)),
    ),
    result.outputs.length > 0 ? outputsTable(result.outputs, 'outputs') : h('p', {}, 'No outputs.'),
  )
}

function renderSourceNotice(notice: CartenixOutput & { source: SourceAdded }, request: InputRequest): HTMLElement {
  const { source } = notice
  const matches = keccak256(request.bytes) === source.requestHash
  return h('section', { id: 'notice' },
    h('h3', {}, `Notice ${notice.index}: `, h('span', { id: 'upload-outcome', class: 'ok' }, 'source added')),
    h('dl', { class: 'facts' },
      h('dt', {}, 'name'), h('dd', {}, h('code', { id: 'source-name' }, source.name)),
      h('dt', {}, 'store path'), h('dd', {}, h('code', { id: 'source-store-path', class: 'path' }, source.storePath)),
      h('dt', {}, 'sha256'), h('dd', {},
        h('code', { id: 'source-sha256' }, source.sha256), h('br'), h('code', { id: 'source-nix32' }, hexToNarHash(source.sha256)),
        source.mode === 'recursive' ? ' (of the NAR)' : ' (of the file, as fetchurl pins it)'),
      h('dt', {}, 'mode'), h('dd', {}, h('code', { id: 'source-mode' }, source.mode)),
      h('dt', {}, 'size'), h('dd', { id: 'source-size' }, `${source.size.toLocaleString('en')} bytes`),
      h('dt', {}, 'uploader'), h('dd', {}, h('code', { id: 'source-uploader' }, source.uploader)),
      h('dt', {}, 'request hash'), h('dd', {}, h('code', {}, source.requestHash), ' ', matches ? h('span', { class: 'ok' }, "= keccak256 of this input's request") : h('span', { class: 'error' }, "≠ keccak256 of this input's request")),
      h('dt', {}, 'epoch'), h('dd', {}, String(notice.epochIndex)),
    ),
  )
}

/**
 * An accepted upload chunk: the SourceAdded notice of the one that completed the upload, validated
 * on-chain, or how far the upload had come.
 */
async function renderUpload(body: HTMLElement, connection: Connection, request: InputRequest & { upload: UploadRequest }, inputIndex: bigint, reports: readonly DecodedReport[], signal: AbortSignal): Promise<void> {
  const { outputs } = await listOutputs(connection.node, { application: connection.application, inputIndex })
  if (signal.aborted) return
  const notice = outputs.find((o): o is CartenixOutput & { source: SourceAdded } => o.source !== undefined)
  if (notice) {
    const verdict = h('p', { id: 'verdict' })
    replace(body,
      renderSourceNotice(notice, request),
      h('section', { id: 'on-chain' }, h('h3', {}, 'On-chain'), verdict),
      reports.length > 0 ? renderReports(reports) : null,
    )
    return validate(connection, notice, verdict, signal)
  }
  const { upload } = request
  const progress = reports.map(({ report }) => (report?.type === 'upload-progress' ? report : undefined)).find((report) => report !== undefined)
  replace(body,
    h('p', { id: 'upload-progress' },
      `Chunk ${upload.index} of ${upload.count} joined the upload of ${upload.name}`,
      progress ? `: after it the machine held ${progress.received} of the ${progress.count} chunks (the source becomes ${progress.storePath} once it has them all and their sha256 is the one declared).` : '.',
    ),
    reports.length > 0 ? renderReports(reports) : null,
  )
}

/**
 * Reports exactly as the back end wrote them, with the type and reason first when the report is
 * one Cartenix writes (dapp/protocol/reports.ts): in red when it says something went wrong
 * (failureReportTypes), plainly for progress and success.
 */
function renderReports(reports: readonly DecodedReport[]): HTMLElement {
  return h('section', { id: 'reports' },
    h('h3', {}, `Reports (${reports.length})`),
    reports.map(({ payload, json, report }) => {
      const reason = report?.type === 'rejected' ? report.reason : undefined
      const log = report?.type === 'rejected' ? report.log : report?.type === 'build-failed' || report?.type === 'not-reproducible' ? report.logTail : undefined
      return h('article', { class: 'report' },
        report ? h('p', { class: failureReportTypes.has(report.type) ? 'reason' : 'kind' }, [report.type, reason].filter((part) => part !== undefined).join(': ')) : null,
        log ? h('pre', { class: 'log' }, log) : null,
        reason !== undefined || log
          ? h('details', {}, h('summary', {}, 'as written'), h('pre', {}, JSON.stringify(json, null, 2)))
          : h('pre', {}, json === undefined ? payload : JSON.stringify(json, null, 2)),
      )
    }),
  )
}

async function validate(connection: Connection, notice: CartenixOutput, verdict: HTMLElement, signal: AbortSignal): Promise<void> {
  const alive = () => !signal.aborted
  replace(verdict, h('span', { class: 'pending' }, `waiting for the claim of epoch ${notice.epochIndex} to be accepted…`))
  try {
    const proven = await waitForProof(connection.node, {
      application: connection.application,
      outputIndex: notice.index,
      timeoutMs: followMs,
      signal,
      onEpochStatus: (status) => alive() && replace(verdict, h('span', { class: 'pending' }, `waiting for the claim of epoch ${notice.epochIndex} to be accepted: the epoch is ${status}…`)),
    })
    if (!alive()) return
    replace(verdict, h('span', { class: 'pending' }, 'asking the Application contract…'))
    const answer = await validateNotice(connection.publicClient, { application: connection.application, output: proven })
    if (!alive()) return
    replace(
      verdict,
      answer.valid
        ? h('span', { class: 'ok', id: 'validated' }, `validated on-chain: Application.validateOutput accepted output ${notice.index} against the claim of epoch ${notice.epochIndex}`)
        : h('span', { class: 'error', id: 'refused' }, `refused on-chain: ${answer.reason}`),
    )
  } catch (error) {
    if (alive()) replace(verdict, h('span', { class: 'error' }, describeError(error)))
  }
}

async function registryRecord(connection: Connection, registry: Hex, drvPath: string, into: HTMLElement): Promise<void> {
  try {
    const entry = await readRegistry(connection.publicClient, { registry, drvPath })
    replace(
      into,
      entry
        ? [h('p', { id: 'registry-record' }, `The registry ${registry} records ${drvPath} for ${entry.system}:`), outputsTable(entry.outputs, 'registry-outputs')]
        : h('p', {}, `The registry ${registry} has no record of ${drvPath}.`),
    )
  } catch (error) {
    replace(into, h('p', { class: 'error' }, `Could not read ${registry} as a CartenixRegistry: ${describeError(error)}`))
  }
}

async function renderVoucher(connection: Connection, voucher: CartenixOutput, drvPath: string, into: HTMLElement, signal: AbortSignal): Promise<void> {
  const alive = () => !signal.aborted
  if (voucher.decoded.type === 'Notice') return
  const destination = voucher.decoded.destination
  const state = h('p', { class: 'pending' }, `waiting for the claim of epoch ${voucher.epochIndex}…`)
  const record = h('div', { class: 'registry' })
  replace(into, h('h3', {}, `Voucher ${voucher.index} to `, h('code', {}, destination)), state, record)
  try {
    const proven = await waitForProof(connection.node, { application: connection.application, outputIndex: voucher.index, timeoutMs: followMs, signal })
    if (!alive()) return
    const executed = await readContract(connection.publicClient, { address: connection.application, abi: applicationAbi, functionName: 'wasOutputExecuted', args: [voucher.index] })
    if (executed) {
      replace(state, h('span', { class: 'ok', id: 'voucher-executed' }, 'executed'))
      return registryRecord(connection, destination, drvPath, record)
    }
    const button = h('button', { id: 'execute-voucher', disabled: !connection.signer }, 'Execute voucher') as HTMLButtonElement
    button.addEventListener('click', async () => {
      const signer = connection.signer
      if (!signer) return
      button.disabled = true
      replace(state, h('span', { class: 'pending' }, 'executing…'))
      try {
        const { transactionHash } = await executeVoucher(signer.walletClient, { application: connection.application, output: proven })
        replace(state, h('span', { class: 'ok', id: 'voucher-executed' }, `executed in transaction ${transactionHash}`))
        await registryRecord(connection, destination, drvPath, record)
      } catch (error) {
        replace(state, h('span', { class: 'error' }, describeError(error)))
        button.disabled = false
      }
    })
    replace(state, 'claimed: ', button, connection.signer ? '' : ' (connect an account to execute it)')
  } catch (error) {
    if (alive()) replace(state, h('span', { class: 'error' }, describeError(error)))
  }
}

export async function renderInput(view: HTMLElement, connection: Connection, inputIndex: bigint, signal: AbortSignal): Promise<void> {
  const alive = () => !signal.aborted
  const status = h('span', { id: 'status', class: 'badge' }, 'asking the node…')
  /** The status as the node names it, and what it means as the badge's title (hover). */
  const showStatus = (text: string, code: string) => {
    replace(status, text)
    status.title = code === 'UNSEEN' ? 'the node has not read this input yet' : describeInputStatus(code)
  }
  const request = h('div', { id: 'input-request' })
  let shown: InputRequest | undefined
  const body = h('div', {})
  replace(view, h('section', { id: 'input' },
    h('p', {}, h('a', { href: '#/' }, '← all inputs')),
    h('h2', {}, `Input ${inputIndex} `, status),
    request,
    body,
  ))
  const { application, node } = connection
  const showRequest = async () => {
    const input = await getInput(node, { application, inputIndex }).catch(() => undefined)
    if (!alive() || !input) return
    shown = inputRequest(input, connection.settings.etherPortal)
    replace(request, renderRequestText(shown))
  }
  try {
    const result = await waitForResult(node, {
      application,
      inputIndex,
      timeoutMs: followMs,
      signal,
      onStatus: (s) => {
        if (!alive()) return
        showStatus(s === 'UNSEEN' ? 'not seen by the node yet' : s === 'NONE' ? 'NONE (being processed)' : s, s)
        if (s !== 'UNSEEN' && !shown) void showRequest()
      },
    })
    if (!alive()) return
    status.className = 'badge ok'
    const verdict = h('p', { id: 'verdict' })
    const vouchers = result.vouchers.map(() => h('section', { class: 'voucher' }))
    replace(body,
      renderNotice(result.notice, inputRequest(result.input, connection.settings.etherPortal)),
      h('section', { id: 'on-chain' }, h('h3', {}, 'On-chain'), verdict),
      vouchers,
      result.reports.length > 0 ? renderReports(result.reports) : null,
    )
    void validate(connection, result.notice, verdict, signal)
    result.vouchers.forEach((voucher, i) => void renderVoucher(connection, voucher, result.notice.result.drvPath, vouchers[i] as HTMLElement, signal))
  } catch (error) {
    if (!alive()) return
    if (error instanceof InputNotAcceptedError) return notAccepted(error)
    replace(body, h('p', { class: 'error' }, describeError(error)))
  }

  /** An input without a BuildResult: an accepted upload chunk, or one the node did not accept. */
  async function notAccepted(error: InputNotAcceptedError): Promise<void> {
    try {
      const input = await getInput(node, { application, inputIndex })
      if (!alive()) return
      const request = inputRequest(input, connection.settings.etherPortal)
      if (input.status === 'ACCEPTED' && request.upload) {
        status.className = 'badge ok'
        showStatus(input.status, input.status)
        return await renderUpload(body, connection, { ...request, upload: request.upload }, inputIndex, error.reports, signal)
      }
    } catch (readError) {
      if (alive()) replace(body, h('p', { class: 'error' }, describeError(readError)))
      return
    }
    status.className = 'badge error'
    showStatus(error.status, error.status)
    replace(body, h('p', { class: 'error', id: 'not-accepted' }, `Input ${inputIndex} was not accepted: ${describeInputStatus(error.status)}.`), renderReports(error.reports))
  }
}
