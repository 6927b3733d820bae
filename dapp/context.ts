import { toHex } from 'viem'
import type { BackendConfig } from './config.ts'
import type { RollupClient } from './rollup/client.ts'
import type { ResultLedger } from './results.ts'
import type { UploadStore } from './uploads.ts'

/** What a handler needs: the rollup API, the settings, the Nix system, the published results, the uploads in progress. */
export type BackendContext = {
  rollup: RollupClient
  config: BackendConfig
  system: string
  results: ResultLedger
  uploads: UploadStore
  log: (line: string) => void
}

/** Reports are UTF-8 JSON, so that people and programs can both read them. */
export async function sendReport(context: BackendContext, report: Record<string, unknown>): Promise<void> {
  await context.rollup.report(toHex(JSON.stringify(report)))
}
