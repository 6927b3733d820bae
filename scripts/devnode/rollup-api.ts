/**
 * The rollup HTTP API that the back end talks to (what machine-guest-tools' rollup-http-server
 * offers inside the machine), served by the dev node on the host. Every route is served twice:
 * at the bare URL (`/finish`), for a back end started by hand, and under a session token the node
 * handed out (`/<token>/finish`), for a back end the devnet runs. A session that may not do what
 * it asks gets 403 (unknown or closed session) or 409 (the request in flight is another's).
 */
import { Hono, type Context } from 'hono'
import { z } from 'zod'
import { delegateCallVoucherBody, finishBody, payloadBody, voucherBody, type outputIndexAnswer } from '../../dapp/protocol/rollupHttp.ts'
import { NoRequestInFlightError, NotYourRequestError, UnknownSessionError, type DevNode, type Session } from './node.ts'

const indexAnswer = (index: number): z.input<typeof outputIndexAnswer> => ({ index })

export function rollupApi(node: DevNode): Hono {
  const app = new Hono()

  app.onError((error, c) => {
    if (error instanceof z.ZodError) return c.json({ error: `invalid body: ${error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` }, 400)
    if (error instanceof SyntaxError) return c.json({ error: `invalid JSON: ${error.message}` }, 400)
    if (error instanceof NoRequestInFlightError) return c.json({ error: error.message }, 400)
    if (error instanceof UnknownSessionError) return c.json({ error: error.message }, 403)
    if (error instanceof NotYourRequestError) return c.json({ error: error.message }, 409)
    return c.json({ error: error.message }, 500)
  })

  const post = (path: string, handler: (c: Context, session: Session) => Promise<Response>) => {
    app.post(path, (c) => handler(c, null))
    app.post(`/:session${path}`, (c) => handler(c, c.req.param('session') ?? null))
  }
  post('/finish', async (c, session) => {
    const { status } = finishBody.parse(await c.req.json())
    const request = await node.finish(session, status)
    return request ? c.json(request, 200) : c.body(null, 202)
  })
  post('/notice', async (c, session) => {
    const { payload } = payloadBody.parse(await c.req.json())
    return c.json(indexAnswer(node.addNotice(session, payload)), 201)
  })
  post('/voucher', async (c, session) => {
    const { destination, value, payload } = voucherBody.parse(await c.req.json())
    return c.json(indexAnswer(node.addVoucher(session, destination, value, payload)), 201)
  })
  post('/delegate-call-voucher', async (c, session) => {
    const { destination, payload } = delegateCallVoucherBody.parse(await c.req.json())
    return c.json(indexAnswer(node.addDelegateCallVoucher(session, destination, payload)), 201)
  })
  post('/report', async (c, session) => {
    const { payload } = payloadBody.parse(await c.req.json())
    node.addReport(session, payload)
    return c.body(null, 202)
  })
  post('/exception', async (c, session) => {
    const { payload } = payloadBody.parse(await c.req.json())
    await node.exception(session, payload)
    return c.body(null, 200)
  })
  return app
}
