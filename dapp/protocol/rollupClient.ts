/**
 * A client of the rollup HTTP API (dapp/protocol/rollupHttp.ts), as the back end uses it: the
 * same under the real node inside the machine and under the dev node on the host. Responses are
 * parsed, never trusted.
 */
import type { Hex } from 'viem'
import { CartenixError } from '../lib/errors.ts'
import type * as z from 'zod'
import {
  delegateCallVoucherBody, finishBody, outputIndexAnswer, payloadBody, rollupRequest, voucherBody, type FinishStatus, type RollupRequest,
} from './rollupHttp.ts'

/** Each route's body, as the API defines it. */
type Bodies = {
  '/finish': z.input<typeof finishBody>
  '/notice': z.input<typeof payloadBody>
  '/voucher': z.input<typeof voucherBody>
  '/delegate-call-voucher': z.input<typeof delegateCallVoucherBody>
  '/report': z.input<typeof payloadBody>
  '/exception': z.input<typeof payloadBody>
}

/** A call to the rollup HTTP API answered with an unexpected status, or not at all. */
export class RollupRequestError extends CartenixError {
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

export type RollupClient = ReturnType<typeof createRollupClient>

export function createRollupClient(baseUrl: string) {
  async function post<P extends keyof Bodies>(path: P, body: Bodies[P]): Promise<Response> {
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
  async function output<P extends '/notice' | '/voucher' | '/delegate-call-voucher'>(path: P, body: Bodies[P]): Promise<number> {
    const response = await post(path, body)
    return outputIndexAnswer.parse(JSON.parse(await expect(path, response, [200, 201]))).index
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
