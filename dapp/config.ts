/**
 * Every setting of the back end, declared once: name, type, default and meaning. Loaded once at
 * start; a missing or malformed setting stops the back end with a message that names it.
 */
import { z } from 'zod'
import { address } from './protocol/primitives.ts'
import { defaultLogTailBytes } from './nix/log.ts'
import { defaultExecutionParameters, nanosecondsToMs } from './protocol/nodeApi.ts'

const milliseconds = z.coerce.number().int().positive()

export const backendSettings = z.object({
  ROLLUP_HTTP_SERVER_URL: z
    .string({ error: 'ROLLUP_HTTP_SERVER_URL is required (the rollup HTTP API, e.g. http://127.0.0.1:5004)' })
    .url()
    .describe('The rollup HTTP API the back end takes inputs from and sends outputs to.'),
  CARTENIX_ADVANCE_DEADLINE_MS: milliseconds
    .default(nanosecondsToMs(defaultExecutionParameters.advanceMaxDeadline))
    .describe("The node's deadline for one input (its application's advance_max_deadline): evaluation and build must end, with a margin, before it. Default: the real node's, 180 s."),
  CARTENIX_EVAL_TIMEOUT_MS: milliseconds
    .optional()
    .describe('Wall-clock limit for evaluating one request. Default: a quarter of what the deadline leaves, at most 60 s.'),
  CARTENIX_BUILD_TIMEOUT_MS: milliseconds.optional().describe('Wall-clock limit for building one request. Default: what the deadline leaves after evaluation.'),
  CARTENIX_EVAL_MEMORY_MB: z.coerce.number().int().min(64).default(4096).describe('Address space the evaluator may use, MiB.'),
  CARTENIX_BUILD_MAX_FILE_MB: z.coerce.number().int().min(1).default(4096).describe('Largest file a build may write, MiB.'),
  CARTENIX_BUILD_MAX_PROCESSES: z.coerce.number().int().min(16).default(1024).describe('Processes a build may run at once.'),
  CARTENIX_BUILD_MIN_FREE_DISK_MB: z.coerce.number().int().min(0).default(1024).describe("A build stops when the store's disk has less free than this, MiB (0: no watch)."),
  CARTENIX_LOG_TAIL_BYTES: z.coerce.number().int().min(256).max(1_000_000).default(defaultLogTailBytes).describe("How much of Nix's log a report carries, bytes: a failed build's, or an evaluation error's."),
  CARTENIX_STATE_DIR: z
    .string()
    .regex(/^\//, 'an absolute path')
    .optional()
    .describe('Where published results and uploads in progress are kept across restarts (the VM reboots its back end to roll a rejected input back); unset: memory and a temporary directory only.'),
  CARTENIX_UPLOAD_MAX_MB: z.coerce.number().int().min(1).default(64).describe('Largest source an upload may bring through the rollup, MiB.'),
  CARTENIX_UPLOAD_MAX_PENDING: z.coerce.number().int().min(1).default(16).describe('Uploads in progress at once, every uploader counted.'),
  CARTENIX_UPLOAD_EXPIRY_BLOCKS: z.coerce.number().int().min(1).default(7200).describe('Blocks after its latest chunk when an upload in progress may be dropped to make room for a new one.'),
  CARTENIX_SYSTEM: z.string().optional().describe("The Nix system to build for; Nix's own (builtins.currentSystem) if unset."),
  CARTENIX_ETHER_PORTAL: address
    .optional()
    .describe('The EtherPortal: inputs it sends carry sender and value before the request, which are taken off.'),
})

export type BackendConfig = {
  rollupUrl: string
  advanceDeadlineMs: number
  evalTimeoutMs: number
  evalMemoryBytes: number
  buildTimeoutMs: number
  buildMaxFileBytes: number
  buildMaxProcesses: number
  buildMinFreeDiskBytes: number
  logTailBytes: number
  stateDir?: string
  uploadMaxBytes: number
  uploadMaxPending: number
  uploadExpiryBlocks: number
  system?: string
  etherPortal?: `0x${string}`
}

export class ConfigError extends Error {
  override name = 'ConfigError' as const
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BackendConfig {
  const parsed = backendSettings.safeParse(env)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')
    throw new ConfigError(`Invalid back-end configuration: ${problems}`)
  }
  const settings = parsed.data
  const budget = timeBudget(settings.CARTENIX_ADVANCE_DEADLINE_MS, { evalTimeoutMs: settings.CARTENIX_EVAL_TIMEOUT_MS, buildTimeoutMs: settings.CARTENIX_BUILD_TIMEOUT_MS })
  return {
    rollupUrl: settings.ROLLUP_HTTP_SERVER_URL.replace(/\/$/, ''),
    advanceDeadlineMs: settings.CARTENIX_ADVANCE_DEADLINE_MS,
    evalTimeoutMs: budget.evalTimeoutMs,
    evalMemoryBytes: settings.CARTENIX_EVAL_MEMORY_MB * 1024 * 1024,
    buildTimeoutMs: budget.buildTimeoutMs,
    buildMaxFileBytes: settings.CARTENIX_BUILD_MAX_FILE_MB * 1024 * 1024,
    buildMaxProcesses: settings.CARTENIX_BUILD_MAX_PROCESSES,
    buildMinFreeDiskBytes: settings.CARTENIX_BUILD_MIN_FREE_DISK_MB * 1024 * 1024,
    logTailBytes: settings.CARTENIX_LOG_TAIL_BYTES,
    stateDir: settings.CARTENIX_STATE_DIR,
    uploadMaxBytes: settings.CARTENIX_UPLOAD_MAX_MB * 1024 * 1024,
    uploadMaxPending: settings.CARTENIX_UPLOAD_MAX_PENDING,
    uploadExpiryBlocks: settings.CARTENIX_UPLOAD_EXPIRY_BLOCKS,
    system: settings.CARTENIX_SYSTEM,
    etherPortal: settings.CARTENIX_ETHER_PORTAL?.toLowerCase() as `0x${string}` | undefined,
  }
}

/**
 * What the back end keeps back from the node's deadline for the work around evaluation and
 * build: reading the sources in, hashing the outputs' NARs, sending the notice. A tenth of the
 * deadline, at least 10 s. A build that times out still has this much time to say so.
 */
export const deadlineMarginMs = (deadlineMs: number): number => Math.max(10_000, Math.ceil(deadlineMs / 10))

/**
 * The evaluation and build timeouts for one input under the node's deadline. What is not given
 * is made from what the deadline leaves; what is given must fit, or the back end does not start:
 * a build cut off by the node ends as TIME_LIMIT_EXCEEDED with no notice saying why.
 */
export function timeBudget(deadlineMs: number, given: { evalTimeoutMs?: number; buildTimeoutMs?: number } = {}): { evalTimeoutMs: number; buildTimeoutMs: number } {
  const margin = deadlineMarginMs(deadlineMs)
  const available = deadlineMs - margin
  const evalTimeoutMs = given.evalTimeoutMs ?? Math.min(60_000, given.buildTimeoutMs === undefined ? Math.floor(available / 4) : available - given.buildTimeoutMs)
  const buildTimeoutMs = given.buildTimeoutMs ?? available - evalTimeoutMs
  if (evalTimeoutMs <= 0 || buildTimeoutMs <= 0 || evalTimeoutMs + buildTimeoutMs > available) {
    throw new ConfigError(
      `Invalid back-end configuration: evaluation (${evalTimeoutMs} ms) and build (${buildTimeoutMs} ms) must end ${margin} ms before the node's deadline, ` +
        `CARTENIX_ADVANCE_DEADLINE_MS=${deadlineMs}: together at most ${Math.max(available, 0)} ms. Lower CARTENIX_EVAL_TIMEOUT_MS or CARTENIX_BUILD_TIMEOUT_MS, ` +
        "or raise the application's advance_max_deadline on the node and CARTENIX_ADVANCE_DEADLINE_MS with it",
    )
  }
  return { evalTimeoutMs, buildTimeoutMs }
}
