/**
 * The rollup HTTP API that the back end talks to (what machine-guest-tools' rollup-http-server
 * offers inside the machine), served by the dev node on the host.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import type { Address, Hex } from 'viem'
import { hexToBigInt } from 'viem'
import { NoRequestInFlightError, type DevNode } from './node.ts'

/** Inputs and outputs are each capped at 2 MiB by the machine's I/O buffers. */
const maxPayloadBytes = 2 * 1024 * 1024
const hex = z
  .string()
  .regex(/^0x([0-9a-fA-F]{2})*$/, 'an even-length 0x-prefixed hex string')
  .refine((s) => (s.length - 2) / 2 <= maxPayloadBytes, 'larger than the 2 MiB I/O buffer')
  .transform((s) => s as Hex)
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an address').transform((s) => s as Address)
const uint256 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{1,64}$/, 'a uint256 as 0x-prefixed hex, at most 32 bytes')
  .transform((s) => hexToBigInt(s as Hex))

const finishBody = z.object({ status: z.enum(['accept', 'reject']) })
const payloadBody = z.object({ payload: hex })
const voucherBody = z.object({ destination: address, value: uint256, payload: hex })
const delegateCallVoucherBody = z.object({ destination: address, payload: hex })

export function rollupApi(node: DevNode): Hono {
  const app = new Hono()

  app.onError((error, c) => {
    if (error instanceof z.ZodError) return c.json({ error: `invalid body: ${error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` }, 400)
    if (error instanceof SyntaxError) return c.json({ error: `invalid JSON: ${error.message}` }, 400)
    if (error instanceof NoRequestInFlightError) return c.json({ error: error.message }, 400)
    return c.json({ error: error.message }, 500)
  })

  app.post('/finish', async (c) => {
    const { status } = finishBody.parse(await c.req.json())
    const request = await node.finish(status)
    return request ? c.json(request, 200) : c.body(null, 202)
  })
  app.post('/notice', async (c) => {
    const { payload } = payloadBody.parse(await c.req.json())
    return c.json({ index: node.addNotice(payload) }, 201)
  })
  app.post('/voucher', async (c) => {
    const { destination, value, payload } = voucherBody.parse(await c.req.json())
    return c.json({ index: node.addVoucher(destination, value, payload) }, 201)
  })
  app.post('/delegate-call-voucher', async (c) => {
    const { destination, payload } = delegateCallVoucherBody.parse(await c.req.json())
    return c.json({ index: node.addDelegateCallVoucher(destination, payload) }, 201)
  })
  app.post('/report', async (c) => {
    const { payload } = payloadBody.parse(await c.req.json())
    node.addReport(payload)
    return c.body(null, 202)
  })
  app.post('/exception', async (c) => {
    const { payload } = payloadBody.parse(await c.req.json())
    await node.exception(payload)
    return c.body(null, 200)
  })
  return app
}
