import type { Address } from 'viem'
import { NodeUnreachableError } from '../errors/node.ts'
import { decodeReport, type DecodedReport } from '../../dapp/protocol/reports.ts'
import type { InspectQuery } from '../../dapp/protocol/inspect.ts'
import { wireInspectResult } from '../../dapp/protocol/nodeApi.ts'

export type InspectStateParameters = {
  /** The node's inspect endpoint without the application: `http://127.0.0.1:10011/inspect` on the dev node, `…:10012/inspect` on a real node. */
  url: string
  application: Address | string
  /** A query of the back end (dapp/protocol/inspect.ts), sent as UTF-8 JSON. */
  query: InspectQuery
}

export type InspectStateReturnType = { status: string; exception?: string; reports: DecodedReport[]; processedInputCount: number }

/**
 * Asks the back end a question without an input (inspect): the answer comes back as reports.
 *
 * @example
 * const { reports } = await inspectState({ url: 'http://127.0.0.1:10011/inspect', application, query: { query: 'attributes' } })
 * reports[0].json // { query: 'attributes', system: 'x86_64-linux', attributes: ['hello', …] }
 */
export async function inspectState(parameters: InspectStateParameters): Promise<InspectStateReturnType> {
  const url = `${parameters.url.replace(/\/$/, '')}/${parameters.application}`
  let response: Response
  try {
    response = await fetch(url, { method: 'POST', body: JSON.stringify(parameters.query) })
  } catch (cause) {
    throw new NodeUnreachableError({ url, cause })
  }
  if (!response.ok) throw new NodeUnreachableError({ url, status: response.status, detail: await response.text().catch(() => '') })
  const result = wireInspectResult.parse(await response.json())
  return { ...result, reports: result.reports.map((r) => decodeReport(r.payload)) }
}
