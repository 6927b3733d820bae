import * as z from 'zod'
import { NodeRpcError, NodeUnreachableError } from '../errors/node.ts'

/** A connection to a rollups node's JSON-RPC (the real node v2, or the dev node). */
export type NodeClient = {
  url: string
  request: <T extends z.ZodType>(method: string, params: Record<string, unknown>, result: T) => Promise<z.output<T>>
}

const envelope = z.object({
  jsonrpc: z.literal('2.0'),
  result: z.unknown().optional(),
  error: z.object({ code: z.number(), message: z.string() }).optional(),
})

let nextId = 1

/**
 * @example
 * const node = createNodeClient({ url: 'http://127.0.0.1:10011/rpc' })
 * const count = await getProcessedInputCount(node, { application: '0x…' })
 */
export function createNodeClient({ url }: { url: string }): NodeClient {
  return {
    url,
    async request(method, params, result) {
      let response: Response
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
        })
      } catch (cause) {
        throw new NodeUnreachableError({ url, cause })
      }
      if (!response.ok) throw new NodeUnreachableError({ url, status: response.status })
      const body = envelope.parse(await response.json())
      if (body.error) throw new NodeRpcError({ method, code: body.error.code, message: body.error.message })
      return result.parse(body.result)
    },
  }
}
