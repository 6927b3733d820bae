/**
 * The rollup HTTP API, as the back end sees it (the same under the real node inside the machine
 * and under the dev node on the host). Responses are parsed, never trusted.
 */
import { z } from 'zod'
import type { Hex } from 'viem'

const hex = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'an even-length 0x-prefixed hex string').transform((s) => s as Hex)
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an address').transform((s) => s as Hex)

export const advanceRequest = z.object({
  request_type: z.literal('advance_state'),
  data: z.object({
    metadata: z.object({
      chain_id: z.number().int().nonnegative(),
      app_contract: address,
      msg_sender: address,
      block_number: z.number().int().nonnegative(),
      block_timestamp: z.number().int().nonnegative(),
      prev_randao: z.union([z.string(), z.number()]),
      input_index: z.number().int().nonnegative(),
    }),
    payload: hex,
  }),
})

export const inspectRequest = z.object({
  request_type: z.literal('inspect_state'),
  data: z.object({ payload: hex }),
})

export const rollupRequest = z.discriminatedUnion('request_type', [advanceRequest, inspectRequest])
export type RollupRequest = z.infer<typeof rollupRequest>
export type AdvanceRequest = z.infer<typeof advanceRequest>
export type InspectRequest = z.infer<typeof inspectRequest>

export type FinishStatus = 'accept' | 'reject'

/** A call to the rollup HTTP API answered with an unexpected status, or not at all. */
export class RollupRequestError extends Error {
  override name = 'RollupRequestError' as const
  readonly status: number | undefined
  constructor(args: { method: string; url: string; status?: number; body?: string; cause?: unknown }) {
    super(
      args.status === undefined
        ? `Request failed: ${args.method} ${args.url}`
        : `Request failed with status ${args.status}: ${args.method} ${args.url}${args.body ? ` (${args.body.slice(0, 200)})` : ''}`,
      { cause: args.cause },
    )
    this.status = args.status
  }
}

const indexResponse = z.object({ index: z.number().int().nonnegative() })

export type RollupClient = ReturnType<typeof createRollupClient>

export function createRollupClient(baseUrl: string) {
  async function post(path: string, body: unknown): Promise<Response> {
    const url = `${baseUrl}${path}`
    try {
      return await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    } catch (cause) {
      throw new RollupRequestError({ method: 'POST', url, cause })
    }
  }
  async function expect(path: string, response: Response, statuses: number[]): Promise<string> {
    const text = await response.text()
    if (!statuses.includes(response.status)) {
      throw new RollupRequestError({ method: 'POST', url: `${baseUrl}${path}`, status: response.status, body: text })
    }
    return text
  }
  async function output(path: string, body: unknown): Promise<number> {
    const response = await post(path, body)
    return indexResponse.parse(JSON.parse(await expect(path, response, [200, 201]))).index
  }
  return {
    /** Ends the current request with a verdict and returns the next one, or null on 202 (nothing yet). */
    async finish(status: FinishStatus): Promise<RollupRequest | null> {
      const response = await post('/finish', { status })
      const text = await expect('/finish', response, [200, 202])
      if (response.status === 202) return null
      return rollupRequest.parse(JSON.parse(text))
    },
    notice: (payload: Hex) => output('/notice', { payload }),
    voucher: (destination: Hex, value: Hex, payload: Hex) => output('/voucher', { destination, value, payload }),
    async report(payload: Hex): Promise<void> {
      await expect('/report', await post('/report', { payload }), [200, 202])
    },
    async exception(payload: Hex): Promise<void> {
      await expect('/exception', await post('/exception', { payload }), [200, 202])
    },
  }
}
