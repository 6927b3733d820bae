import { hexToString } from 'viem'
import { packageAttributes } from '../nix/attributes.ts'
import { sourceStatus } from '../nix/sources.ts'
import { invalidPaths } from '../nix/store.ts'
import { uploadStatus } from './upload.ts'
import { inspectQuery } from '../protocol/inspect.ts'
import { buildResultToJson } from '../protocol/reports.ts'
import { sendReport, type BackendContext } from '../context.ts'
import type { FinishStatus, InspectRequest } from '../protocol/rollupHttp.ts'

/** An inspect query (dapp/protocol/inspect.ts), answered with one report. */
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
      await sendReport(context, { query: 'result', drvPath: query.drvPath, found: result !== undefined, ...(result ? { result: buildResultToJson(result) } : {}) })
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
