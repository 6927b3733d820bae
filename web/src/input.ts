/**
 * One input, followed live: its status until the node has processed it, then what it produced.
 * A notice is decoded and, once its epoch's claim is accepted, validated on-chain from here
 * (Application.validateOutput); a voucher can be executed and the registry it calls read back.
 */
import { formatEther, getAddress, hexToBigInt, hexToString, keccak256, slice, type Address, type Hex } from 'viem'
import { readContract } from 'viem/actions'
import { applicationAbi } from '../../contracts-client/abi/rollups.ts'
import type { BuildResult } from '../../contracts-client/abi/buildResult.ts'
import { executeVoucher } from '../../contracts-client/actions/executeVoucher.ts'
import { getInput } from '../../contracts-client/actions/getInput.ts'
import { readRegistry, type RegistryEntry } from '../../contracts-client/actions/readRegistry.ts'
import { validateNotice } from '../../contracts-client/actions/validateNotice.ts'
import { waitForProof } from '../../contracts-client/actions/waitForProof.ts'
import { waitForResult } from '../../contracts-client/actions/waitForResult.ts'
import { InputNotAcceptedError, type DecodedReport } from '../../contracts-client/errors/build.ts'
import type { CartenixOutput } from '../../contracts-client/node/outputs.ts'
import type { NodeInput } from '../../contracts-client/node/wire.ts'
import { hexToNarHash } from '../../dapp/nix/hash.ts'
import { requestBytes } from '../../dapp/request.ts'
import type { Connection } from './connection.ts'
import { describeError, h, replace } from './dom.ts'

/** How long the page follows an input or waits for a claim before it says it stopped. */
const followMs = 60 * 60_000

export type InputRequest = { bytes: Hex; text: string; deposit?: { from: Address; value: bigint } }

/** The request an input carries: through the EtherPortal, after the depositor and the value. */
export function inputRequest(input: NodeInput, etherPortal: Address | undefined): InputRequest {
  const payload = input.payload ?? input.rawData
  const bytes = requestBytes({ payload, sender: input.sender }, etherPortal)
  let text: string
  try {
    text = hexToString(bytes)
  } catch {
    text = bytes
  }
  if (bytes === payload) return { bytes, text }
  return { bytes, text, deposit: { from: getAddress(slice(payload, 0, 20)), value: hexToBigInt(slice(payload, 20, 52)) } }
}

function renderRequestText(request: InputRequest): (HTMLElement | string)[] {
  return [
    h('pre', { id: 'request-text' }, request.text),
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

/** Reports exactly as the back end wrote them, with the reason first when there is one. */
function renderReports(reports: readonly DecodedReport[]): HTMLElement {
  return h('section', { id: 'reports' },
    h('h3', {}, `Reports (${reports.length})`),
    reports.map((report) => {
      const json = report.json as { reason?: unknown; log?: unknown; logTail?: unknown; type?: unknown } | undefined
      const log = typeof json?.log === 'string' ? json.log : typeof json?.logTail === 'string' ? json.logTail : undefined
      return h('article', { class: 'report' },
        typeof json?.reason === 'string' || typeof json?.type === 'string'
          ? h('p', { class: 'reason' }, [json?.type, json?.reason].filter((part) => typeof part === 'string').join(': '))
          : null,
        log ? h('pre', { class: 'log' }, log) : null,
        typeof json?.reason === 'string' || log
          ? h('details', {}, h('summary', {}, 'as written'), h('pre', {}, JSON.stringify(json, null, 2)))
          : h('pre', {}, json === undefined ? report.payload : JSON.stringify(json, null, 2)),
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
        replace(status, s === 'UNSEEN' ? 'not seen by the node yet' : s === 'NONE' ? 'NONE (being processed)' : s)
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
    if (error instanceof InputNotAcceptedError) {
      status.className = 'badge error'
      replace(status, error.status)
      replace(body, h('p', { class: 'error', id: 'not-accepted' }, `Input ${inputIndex} was not accepted (${error.status}).`), renderReports(error.reports))
      return
    }
    replace(body, h('p', { class: 'error' }, describeError(error)))
  }
}
