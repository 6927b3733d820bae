import type * as z from 'zod'
import { nodeMethods, rpcAnswer, type NodeMethod, type NodeParams, type NodeResult } from '../../dapp/protocol/nodeApi.ts'
import { NodeRpcError, NodeUnreachableError } from '../errors/node.ts'

/** A connection to a rollups node's JSON-RPC (the real node v2, or the dev node). */
export type NodeClient = {
  url: string
  /** Calls a method of dapp/protocol/nodeApi.ts with its params, and parses its result. */
  request: <M extends NodeMethod>(method: M, params: NodeParams<M>) => Promise<NodeResult<M>>
}

let nextId = 1

/** The method table seen through a mapped type: indexed by a method's name, it gives that method's result schema. */
const resultSchemas: { [M in NodeMethod]: { result: z.ZodType<NodeResult<M>> } } = nodeMethods

/**
 * @example
 * const node = createNodeClient({ url: 'http://127.0.0.1:10011/rpc' })
 * const count = await getProcessedInputCount(node, { application: '0x…' })
 */
export function createNodeClient({ url }: { url: string }): NodeClient {
  return {
    url,
    async request(method, params) {
      const send = () =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
        })
      let response: Response
      try {
        // Every method is a read: when a kept-alive connection was closed by the node just as the
        // request went out (undici: "other side closed"), asking once more on a new one is safe.
        response = await send().catch((error: unknown) => {
          if (!isClosedConnection(error)) throw error
          return send()
        })
      } catch (cause) {
        throw new NodeUnreachableError({ url, cause })
      }
      if (!response.ok) throw new NodeUnreachableError({ url, status: response.status })
      const body = rpcAnswer.parse(await response.json())
      if (body.error) throw new NodeRpcError({ method, code: body.error.code, message: body.error.message })
      return resultSchemas[method].result.parse(body.result)
    },
  }
}

/** fetch failed because the connection was closed or reset under it, not because nobody listens. */
function isClosedConnection(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET'
}

