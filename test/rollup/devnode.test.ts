import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toHex } from 'viem'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { addInput, rpc, startTestDevnet, waitForInput } from '../harness/devnet.ts'
import { inspectState } from '../../contracts-client/actions/inspectState.ts'
import { NodeUnreachableError } from '../../contracts-client/errors/node.ts'
import { createNodeClient, waitForProof, waitForResult } from '../../contracts-client/index.ts'
import { outputIndexAnswer, rollupRequest } from '../../dapp/protocol/rollupHttp.ts'

// The dev node without a back end: this test plays the back end over the rollup HTTP API.
let devnet: Devnet
beforeAll(async () => {
  // No back end answers inspect requests here: they end after a second (the default is 60 s).
  devnet = await startTestDevnet({ backend: false, inspectTimeoutMs: 1000 })
})
afterAll(async () => {
  await devnet?.stop()
})

const post = (path: string, body: unknown) =>
  fetch(`${devnet.rollupUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

async function nextAdvance(verdict: 'accept' | 'reject') {
  for (let attempt = 0; attempt < 30; attempt++) {
    const response = await post('/finish', { status: verdict })
    if (response.status === 200) return rollupRequest.parse(await response.json())
    expect(response.status).toBe(202)
  }
  throw new Error('no input was served')
}

describe('the rollup HTTP API of the dev node', () => {
  it('answers 202 when there is nothing to do, and refuses outputs outside a request', async () => {
    expect((await post('/finish', { status: 'accept' })).status).toBe(202)
    expect((await post('/notice', { payload: '0x00' })).status).toBe(400)
    expect((await post('/finish', { status: 'maybe' })).status).toBe(400)
  })

  it('keeps a rejected input\'s reports and drops its notices and vouchers', async () => {
    const index = await addInput(devnet, 'reject me')
    const request = await nextAdvance('accept')
    expect(request).toMatchObject({ request_type: 'advance_state', data: { metadata: { input_index: index }, payload: toHex('reject me') } })
    expect((await post('/notice', { payload: '0x01' })).status).toBe(201)
    expect((await post('/voucher', { destination: `0x${'11'.repeat(20)}`, value: `0x${'00'.repeat(32)}`, payload: '0x' })).status).toBe(201)
    expect((await post('/report', { payload: '0xbeef' })).status).toBe(202)
    expect((await post('/finish', { status: 'reject' })).status).toBe(202)
    expect((await waitForInput(devnet, index)).status).toBe('REJECTED')
    expect((await rpc(devnet, 'cartesi_listOutputs', { input_index: toHex(index) })).data).toEqual([])
    expect((await rpc(devnet, 'cartesi_listReports', { input_index: toHex(index) })).data.map((r) => r.payload)).toEqual(['0xbeef'])
  })

  it('ends an input with an exception: outputs dropped, reports and the exception kept', async () => {
    const index = await addInput(devnet, 'throw')
    await nextAdvance('accept')
    expect((await post('/notice', { payload: '0x02' })).status).toBe(201)
    const thrown = await post('/exception', { payload: toHex('boom') })
    expect(thrown.status, await thrown.clone().text()).toBe(200)
    expect((await waitForInput(devnet, index)).status).toBe('EXCEPTION')
    expect((await rpc(devnet, 'cartesi_listOutputs', { input_index: toHex(index) })).data).toEqual([])
    const reports = (await rpc(devnet, 'cartesi_listReports', { input_index: toHex(index) })).data.map((r) => r.payload)
    expect(reports).toEqual([toHex('boom')])
  })

  it('numbers accepted outputs globally, from genesis', async () => {
    const index = await addInput(devnet, 'accept me')
    await nextAdvance('accept')
    const first = outputIndexAnswer.parse(await (await post('/notice', { payload: '0x03' })).json())
    const second = outputIndexAnswer.parse(await (await post('/notice', { payload: '0x04' })).json())
    expect([first.index, second.index]).toEqual([0, 1])
    expect((await post('/finish', { status: 'accept' })).status).toBe(202)
    expect((await waitForInput(devnet, index)).status).toBe('ACCEPTED')
    const outputs = (await rpc(devnet, 'cartesi_listOutputs')).data
    expect(outputs.map((o) => [o.index, o.decoded.payload])).toEqual([
      [0n, '0x03'],
      [1n, '0x04'],
    ])
  })

  it('answers an inspect request no back end takes with 503, the reason and when to retry; the client passes the reason on', async () => {
    const url = `${devnet.nodeUrl}/inspect/${devnet.deployment.application}`
    const response = await fetch(url, { method: 'POST', body: '{"query":"attributes"}' })
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('5')
    expect(await response.text()).toMatch(/No back end took the inspect request within 1000 ms/)
    const error = await inspectState({ url: `${devnet.nodeUrl}/inspect`, application: devnet.deployment.application, query: { query: 'attributes' } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NodeUnreachableError)
    expect((error as NodeUnreachableError).status).toBe(503)
    expect(String(error)).toMatch(/status 503.*No back end took the inspect request/)
  })

  it('stops a wait when its signal aborts, with the signal\'s reason, long before its timeout', async () => {
    // An input no back end will take: without the signal, waitForResult would poll for an hour.
    const index = await addInput(devnet, 'nobody processes this')
    const node = createNodeClient({ url: `${devnet.nodeUrl}/rpc` })
    const application = devnet.deployment.application
    const controller = new AbortController()
    const started = Date.now()
    setTimeout(() => controller.abort(new Error('the page moved on')), 300)
    const error = await waitForResult(node, { application, inputIndex: BigInt(index), timeoutMs: 3_600_000, pollIntervalMs: 10_000, signal: controller.signal }).catch((e: unknown) => e)
    expect(String(error)).toContain('the page moved on')
    expect(Date.now() - started).toBeLessThan(5_000)
    // Already aborted: no request is even made.
    const proof = await waitForProof(node, { application, outputIndex: 0n, signal: controller.signal }).catch((e: unknown) => e)
    expect(String(proof)).toContain('the page moved on')
  })
})
