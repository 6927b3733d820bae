import type { BackendConfig } from './config.ts'
import type { RollupClient } from './protocol/rollupClient.ts'
import type { ResultLedger } from './results.ts'
import type { UploadStore } from './uploads.ts'
import type { InspectAnswer } from './protocol/inspect.ts'
import { encodeReport, type AdvanceReport } from './protocol/reports.ts'

/** What a handler needs: the rollup API, the settings, the Nix system, the published results, the uploads in progress. */
export type BackendContext = {
  rollup: RollupClient
  config: BackendConfig
  system: string
  results: ResultLedger
  uploads: UploadStore
  log: (line: string) => void
}

/** Reports are UTF-8 JSON (dapp/protocol/reports.ts), so that people and programs can both read them. */
export async function sendReport(context: BackendContext, report: AdvanceReport | InspectAnswer): Promise<void> {
  await context.rollup.report(encodeReport(report))
}
