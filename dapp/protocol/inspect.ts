/**
 * Inspect queries (UTF-8 JSON, the payload of an inspect request) and the one report that
 * answers each:
 *   {"query":"result","drvPath":"/nix/store/…drv"}   the result published for a derivation
 *   {"query":"attributes"}                          what "attr" may name
 *   {"query":"sources"}                             the locked sources and whether each is present
 *   {"query":"path","path":"/nix/store/…"}          whether the machine's store holds a path
 *   {"query":"upload","uploader":"0x…","name":…,"mode":"flat","sha256":…}   a source upload: present? which chunks held?
 * A payload that is not a query is answered with a `rejected` report (dapp/protocol/reports.ts).
 */
import * as z from 'zod'
import { address, drvPath, sha256Hex, sourceMode, storePath, storePathName } from './primitives.ts'
import { buildResultJson } from './reports.ts'

export const resultQuery = z.strictObject({ query: z.literal('result'), drvPath })
export const attributesQuery = z.strictObject({ query: z.literal('attributes') })
export const sourcesQuery = z.strictObject({ query: z.literal('sources') })
export const pathQuery = z.strictObject({ query: z.literal('path'), path: storePath })
/** What the machine holds of a source upload (to resume it, or to skip it). */
export const uploadQuery = z.strictObject({ query: z.literal('upload'), uploader: address, name: storePathName, mode: sourceMode, sha256: sha256Hex })

export const inspectQuery = z.discriminatedUnion('query', [resultQuery, attributesQuery, sourcesQuery, pathQuery, uploadQuery])
export type InspectQuery = z.input<typeof inspectQuery>

export const resultAnswer = z.object({ query: z.literal('result'), drvPath: z.string(), found: z.boolean(), result: buildResultJson.optional() })
export const attributesAnswer = z.object({ query: z.literal('attributes'), system: z.string(), attributes: z.array(z.string()) })
export const sourcesAnswer = z.object({
  query: z.literal('sources'),
  sources: z.array(z.object({ name: z.string(), sha256: sha256Hex, storePath: z.string(), present: z.boolean() })),
})
export const pathAnswer = z.object({ query: z.literal('path'), path: z.string(), valid: z.boolean() })
export const uploadAnswer = z.object({
  query: z.literal('upload'),
  storePath: z.string(),
  present: z.boolean(),
  /** The upload in progress, or null: its size, chunk count, and the chunks held with their sha256. */
  pending: z
    .object({ size: z.number().int(), count: z.number().int(), chunks: z.array(z.object({ index: z.number().int(), sha256: sha256Hex })) })
    .nullable(),
})

export const inspectAnswer = z.discriminatedUnion('query', [resultAnswer, attributesAnswer, sourcesAnswer, pathAnswer, uploadAnswer])
export type InspectAnswer = z.input<typeof inspectAnswer>
