/**
 * The Cartenix back end: loops on the rollup HTTP API's /finish, builds what each advance input
 * asks for, and answers inspect queries. The same program runs inside the Cartesi machine (under
 * the real rollups node) and on the host (under the dev node). It never exits on bad input.
 */
import { loadConfig } from './config.ts'
import { createRollupClient, RollupRequestError } from './protocol/rollupClient.ts'
import { type FinishStatus, type RollupRequest } from './protocol/rollupHttp.ts'
import { ResultLedger } from './results.ts'
import { UploadStore } from './uploads.ts'
import { currentSystem } from './nix/env.ts'
import { handleAdvance } from './handlers/advance.ts'
import { handleInspect } from './handlers/inspect.ts'
import { sendReport, type BackendContext } from './context.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function handle(context: BackendContext, request: RollupRequest): Promise<FinishStatus> {
  switch (request.request_type) {
    case 'advance_state':
      return handleAdvance(context, request)
    case 'inspect_state':
      return handleInspect(context, request)
    default: {
      const unknown: never = request
      throw new Error(`Unknown request type: ${JSON.stringify(unknown)}`)
    }
  }
}

/** Handles one request; an unexpected error becomes a report and a reject, never an exit. */
async function serve(context: BackendContext, request: RollupRequest): Promise<FinishStatus> {
  try {
    return await handle(context, request)
  } catch (error) {
    context.log(`internal error: ${(error as Error).stack ?? String(error)}`)
    await sendReport(context, { type: 'rejected', reason: `internal error: ${(error as Error).message}` }).catch((reportError: unknown) => {
      context.log(`could not report the error either: ${String(reportError)}`)
    })
    return 'reject'
  }
}

export async function runBackend(): Promise<never> {
  const config = loadConfig()
  const system = config.system ?? (await currentSystem())
  const log = (line: string) => console.error(`[cartenix] ${line}`)
  const context: BackendContext = { rollup: createRollupClient(config.rollupUrl), config, system, results: new ResultLedger(config.stateDir && `${config.stateDir}/results`), uploads: new UploadStore(config.stateDir && `${config.stateDir}/uploads`), log }
  log(`serving ${config.rollupUrl} for ${system}`)
  let status: FinishStatus = 'accept'
  let backoff = 100
  for (;;) {
    let request: RollupRequest | null
    try {
      request = await context.rollup.finish(status)
      backoff = 100
    } catch (error) {
      // 403: the rollup API will never serve this back end again (the dev node says so to one
      // left over from an earlier devnet). Anything else may pass: try again.
      if (error instanceof RollupRequestError && error.status === 403) throw error
      log(`${(error as Error).message}; retrying in ${backoff} ms`)
      await sleep(backoff)
      backoff = Math.min(backoff * 2, 5000)
      continue
    }
    if (request === null) continue
    status = await serve(context, request)
    if (request.request_type === 'advance_state') {
      context.results.settle(status === 'accept')
      context.uploads.settle(status === 'accept')
    }
  }
}

await runBackend().catch((error: unknown) => {
  console.error(`[cartenix] ${(error as Error).message}`)
  process.exit(1)
})
