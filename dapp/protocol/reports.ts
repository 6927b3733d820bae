/**
 * Reports: what the back end says about an input besides its notices, UTF-8 JSON, one typed
 * union. An advance input's reports say why it was rejected, how its build failed, what was
 * built, or how far an upload has come; an inspect query's answer is a report too
 * (dapp/protocol/inspect.ts). The back end writes them with encodeReport; clients, the CLI and
 * the page read them with decodeReport, and a report they do not know stays readable as JSON.
 */
import * as z from 'zod'
import { hexToBytes, toHex, type Hex } from 'viem'
import type { BuildResult } from './buildResult.ts'
import { hash, sha256Hex, sourceMode } from './primitives.ts'

const decimal = z.string().regex(/^\d+$/, 'a decimal integer').transform((s) => BigInt(s))

/** A BuildResult as JSON: bigints as decimal strings, so any JSON reader takes it whole. */
export const buildResultJson = z.object({
  version: z.number().int(),
  requestHash: hash,
  inputIndex: decimal,
  system: z.string(),
  drvPath: z.string(),
  success: z.boolean(),
  outputs: z.array(z.object({ name: z.string(), path: z.string(), narHash: hash, narSize: decimal, references: z.array(z.string()).optional() })),
  closure: z.array(z.object({ path: z.string(), narHash: hash, narSize: decimal, references: z.array(z.string()) })).optional(),
})
export type BuildResultJson = z.input<typeof buildResultJson>

export function buildResultToJson(result: BuildResult): BuildResultJson {
  return JSON.parse(JSON.stringify(result, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))) as BuildResultJson
}

/** A fixed-output source a build needs and the machine does not hold. */
export const missingSource = z.object({ name: z.string(), mode: sourceMode, sha256: sha256Hex, storePath: z.string() })

/** The input was not accepted (or an inspect query not answered); `reason` says why. */
export const rejectedReport = z.object({
  type: z.literal('rejected'),
  reason: z.string(),
  /** What Nix said, its `error:` lines kept whole (evaluation failures). */
  log: z.string().optional(),
  drvPath: z.string().optional(),
  missing: z.array(missingSource).optional(),
  /** The result that could not be emitted. */
  result: buildResultJson.optional(),
  /** For an upload chunk: the source it belongs to, and the chunks held when the whole did not hash right. */
  name: z.string().optional(),
  storePath: z.string().optional(),
  chunks: z.array(z.object({ index: z.number().int(), sha256: sha256Hex })).optional(),
})

export type RejectedReport = z.input<typeof rejectedReport>

/** The builder ran and failed (the input is accepted: a failed notice proves it). */
export const buildFailedReport = z.object({ type: z.literal('build-failed'), drvPath: z.string(), logTail: z.string() })

/**
 * Built twice, a derivation the request defines gave two different outputs: nothing is attested
 * (the input is accepted: a failed notice, with no NAR hash, proves it). `derivation` is the one
 * that differed.
 */
export const notReproducibleReport = z.object({ type: z.literal('not-reproducible'), drvPath: z.string(), derivation: z.string(), logTail: z.string() })

/** The result a notice carries, as JSON: `built` when it succeeded, `failed` when not. */
export const builtReport = z.object({ type: z.literal('built'), result: buildResultJson })
export const failedReport = z.object({ type: z.literal('failed'), result: buildResultJson })

/** An upload chunk was accepted and the source is not whole yet. */
export const uploadProgressReport = z.object({
  type: z.literal('upload-progress'),
  name: z.string(),
  storePath: z.string(),
  received: z.number().int(),
  count: z.number().int(),
})

/** The upload's last chunk made the source whole: it is in the store (a SourceAdded notice says so). */
export const sourceAddedReport = z.object({
  type: z.literal('source-added'),
  name: z.string(),
  mode: sourceMode,
  sha256: sha256Hex,
  size: z.number().int(),
  storePath: z.string(),
})

export const advanceReport = z.discriminatedUnion('type', [rejectedReport, buildFailedReport, notReproducibleReport, builtReport, failedReport, uploadProgressReport, sourceAddedReport])
export type AdvanceReport = z.input<typeof advanceReport>
export type ReportType = AdvanceReport['type']

/** The report types that say something went wrong. */
export const failureReportTypes: ReadonlySet<ReportType> = new Set(['rejected', 'build-failed', 'not-reproducible', 'failed'])

/** Any report the back end writes: an advance input's, or an inspect query's answer. */
export function encodeReport(report: AdvanceReport | { query: string }): Hex {
  return toHex(JSON.stringify(report))
}

/** A report as read back: its bytes, its JSON (undefined when it is not), and the typed report when it is one. */
export type DecodedReport = { payload: Hex; json: unknown; report?: z.output<typeof advanceReport> }

export function decodeReport(payload: Hex): DecodedReport {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(hexToBytes(payload)))
  } catch {
    return { payload, json: undefined }
  }
  const report = advanceReport.safeParse(json)
  return report.success ? { payload, json, report: report.data } : { payload, json }
}

/** What a report says went wrong, in one line and a log: its reason (or type), then Nix's words. */
export function reportReason(decoded: DecodedReport): string | undefined {
  const report = decoded.report
  if (!report) return undefined
  switch (report.type) {
    case 'rejected':
      return report.log ? `${report.reason}: ${report.log}` : report.reason
    case 'build-failed':
      return `build of ${report.drvPath} failed: ${report.logTail}`
    case 'not-reproducible':
      return `build of ${report.drvPath} is not reproducible: ${report.derivation} gave two different outputs, built twice: ${report.logTail}`
    case 'failed':
    case 'built':
    case 'upload-progress':
    case 'source-added':
      return undefined
    default:
      return assertNever(report)
  }
}

function assertNever(value: never): never {
  throw new Error(`Unknown report: ${JSON.stringify(value)}`)
}
