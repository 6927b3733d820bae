/**
 * Every setting of the back end, declared once: name, type, default and meaning. Loaded once at
 * start; a missing or malformed setting stops the back end with a message that names it.
 */
import { z } from 'zod'
import { address } from './protocol/primitives.ts'
import { defaultLogTailBytes } from './nix/log.ts'

const milliseconds = z.coerce.number().int().positive()

export const backendSettings = z.object({
  ROLLUP_HTTP_SERVER_URL: z
    .string({ error: 'ROLLUP_HTTP_SERVER_URL is required (the rollup HTTP API, e.g. http://127.0.0.1:5004)' })
    .url()
    .describe('The rollup HTTP API the back end takes inputs from and sends outputs to.'),
  CARTENIX_EVAL_TIMEOUT_MS: milliseconds.default(60_000).describe('Wall-clock limit for evaluating one request.'),
  CARTENIX_BUILD_TIMEOUT_MS: milliseconds.default(30 * 60_000).describe('Wall-clock limit for building one request.'),
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
  return {
    rollupUrl: settings.ROLLUP_HTTP_SERVER_URL.replace(/\/$/, ''),
    evalTimeoutMs: settings.CARTENIX_EVAL_TIMEOUT_MS,
    evalMemoryBytes: settings.CARTENIX_EVAL_MEMORY_MB * 1024 * 1024,
    buildTimeoutMs: settings.CARTENIX_BUILD_TIMEOUT_MS,
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
