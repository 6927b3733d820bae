import { CartenixError } from '../../dapp/lib/errors.ts'

/** The node answered a JSON-RPC call with an error object; `code` is the node's own. */
export class NodeRpcError extends CartenixError {
  override name = 'NodeRpcError' as const
  readonly code: number
  constructor(args: { method: string; code: number; message: string }) {
    super(`Node JSON-RPC ${args.method} failed with code ${args.code}: ${args.message}`)
    this.code = args.code
  }
}

/** The node could not be reached, or answered with something that is not JSON-RPC. */
export class NodeUnreachableError extends CartenixError {
  override name = 'NodeUnreachableError' as const
  /** The HTTP status the node answered with, when it answered. */
  readonly status: number | undefined
  constructor(args: { url: string; status?: number; cause?: unknown; detail?: string }) {
    const detail = args.detail?.trim() ? `: ${args.detail.trim().slice(0, 500)}` : ''
    super(args.status === undefined ? `Cannot reach the rollups node at ${args.url}` : `Request failed with status ${args.status}: POST ${args.url}${detail}`, {
      cause: args.cause,
    })
    this.status = args.status
  }
}

/** JSON-RPC codes of the rollups node v2 (and of later versions, which renumbered not-found). */
export const nodeErrorCodes = { invalidParams: -32602, internal: -32603, notFound: -32001, resourceNotFound: -31001, applicationNotFound: -31002 } as const

export const isNotFound = (error: unknown): boolean =>
  error instanceof NodeRpcError && [nodeErrorCodes.notFound, nodeErrorCodes.resourceNotFound, nodeErrorCodes.applicationNotFound].some((c) => c === error.code)
