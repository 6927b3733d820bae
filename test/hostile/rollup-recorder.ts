/**
 * A small rollup HTTP API on 127.0.0.1 for driving the back end's handlers in-process: it serves
 * queued requests on /finish, answers outputs and reports like the rollup API does (201
 * {"index":n} for /notice and /voucher, 202 for /report, 200 for /exception) and records every
 * call with its decoded body. Real HTTP, real JSON, real sockets: the back end's own rollup
 * client (dapp/protocol/rollupClient.ts) talks to it exactly as it talks to the dev node.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { payloadBody, type RollupRequestBody } from '../../dapp/protocol/rollupHttp.ts'
import { decodeReport, type DecodedReport } from '../../dapp/protocol/reports.ts'

export type RecordedCall = { path: string; body: unknown }

/** The reports among recorded calls: each body read as the rollup API's /report body, its payload decoded. */
export const reportsIn = (calls: readonly RecordedCall[]): DecodedReport[] =>
  calls.filter((call) => call.path === '/report').map((call) => decodeReport(payloadBody.parse(call.body).payload))

export type RollupRecorder = {
  url: string
  calls: RecordedCall[]
  /** Queues a request for the next POST /finish (answered 202 when nothing is queued). */
  enqueue: (request: RollupRequestBody) => void
  close: () => Promise<void>
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function startRollupRecorder(): Promise<RollupRecorder> {
  const calls: RecordedCall[] = []
  const queue: RollupRequestBody[] = []
  let nextOutputIndex = 0

  const reply = (response: ServerResponse, status: number, body?: unknown) => {
    if (body === undefined) {
      response.writeHead(status).end()
    } else {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
  }

  const server: Server = createServer((request, response) => {
    void (async () => {
      const text = await readBody(request)
      let body: unknown
      try {
        body = text ? JSON.parse(text) : undefined
      } catch {
        return reply(response, 400, { error: 'invalid JSON' })
      }
      const path = request.url ?? ''
      calls.push({ path, body })
      if (request.method !== 'POST') return reply(response, 405, { error: 'POST only' })
      switch (path) {
        case '/finish': {
          const next = queue.shift()
          return next === undefined ? reply(response, 202) : reply(response, 200, next)
        }
        case '/notice':
        case '/voucher':
        case '/delegate-call-voucher':
          return reply(response, 201, { index: nextOutputIndex++ })
        case '/report':
          return reply(response, 202)
        case '/exception':
          return reply(response, 200)
        default:
          return reply(response, 404, { error: `no route ${path}` })
      }
    })().catch((error: unknown) => reply(response, 500, { error: String(error) }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    enqueue: (request) => queue.push(request),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
