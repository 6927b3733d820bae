import { hexToString } from 'viem'
import { z } from 'zod'
import { packageAttributes } from '../nix/attributes.ts'
import { sourceStatus } from '../nix/sources.ts'
import { invalidPaths } from '../nix/store.ts'
import { uploadQuery, uploadStatus } from './upload.ts'
import { sendReport, type BackendContext } from '../context.ts'
import { resultToJson } from '../results.ts'
import type { FinishStatus, InspectRequest } from '../rollup/client.ts'

/**
 * Inspect queries (UTF-8 JSON), answered with one JSON report:
 *   {"query":"result","drvPath":"/nix/store/…drv"}   the result published for a derivation
 *   {"query":"attributes"}                          what "attr" may name
 *   {"query":"sources"}                             the locked sources and whether each is present
 *   {"query":"path","path":"/nix/store/…"}          whether the machine's store holds a path
 *   {"query":"upload","uploader":"0x…","name":…,"mode":"flat","sha256":…}   a source upload: present? which chunks held?
 */
export const inspectQuery = z.discriminatedUnion('query', [
  z.strictObject({ query: z.literal('result'), drvPath: z.string().regex(/^\/nix\/store\/[0-9a-z]{32}-[^/]+\.drv$/, 'a .drv store path') }),
  z.strictObject({ query: z.literal('attributes') }),
  z.strictObject({ query: z.literal('sources') }),
  z.strictObject({ query: z.literal('path'), path: z.string().regex(/^\/nix\/store\/[0-9a-z]{32}-[^/]+$/, 'a store path') }),
  uploadQuery,
])
export type InspectQuery = z.infer<typeof inspectQuery>

export async function handleInspect(context: BackendContext, request: InspectRequest): Promise<FinishStatus> {
  let json: unknown
  try {
    json = JSON.parse(hexToString(request.data.payload))
  } catch {
    await sendReport(context, { type: 'rejected', reason: 'inspect payload is not JSON; try {"query":"attributes"}' })
    return 'reject'
  }
  const parsed = inspectQuery.safeParse(json)
  if (!parsed.success) {
    await sendReport(context, { type: 'rejected', reason: `not an inspect query: ${parsed.error.issues.map((i) => i.message).join('; ')}` })
    return 'reject'
  }
  const query = parsed.data
  switch (query.query) {
    case 'result': {
      const result = context.results.get(query.drvPath)
      await sendReport(context, { query: 'result', drvPath: query.drvPath, found: result !== undefined, ...(result ? { result: resultToJson(result) } : {}) })
      return 'accept'
    }
    case 'attributes':
      await sendReport(context, { query: 'attributes', system: context.system, attributes: await packageAttributes(context.system) })
      return 'accept'
    case 'sources':
      await sendReport(context, {
        query: 'sources',
        sources: (await sourceStatus()).map((s) => ({ name: s.name, sha256: s.sha256, storePath: s.storePath, present: s.present })),
      })
      return 'accept'
    case 'upload':
      await sendReport(context, await uploadStatus(context, query))
      return 'accept'
    case 'path':
      await sendReport(context, { query: 'path', path: query.path, valid: !(await invalidPaths([query.path])).has(query.path) })
      return 'accept'
    default:
      return assertNever(query)
  }
}

function assertNever(value: never): never {
  throw new Error(`Unhandled inspect query: ${JSON.stringify(value)}`)
}
