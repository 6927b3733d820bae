/**
 * The rollback gate's reading of the rollup API traffic: when it commits the disk, when it rolls
 * the machine back, and what the rebooted machine's first /finish carries. The VM itself is
 * exercised end to end by test/riscv64/riscv64.test.ts (a rejected input leaves no trace).
 */
import { Buffer } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import type { RequestFrame } from './relay/frame.ts'
import { createInputGate, type Verdict } from './rollback.ts'

let ids = 0
const post = (path: string, json: unknown): RequestFrame => ({
  t: 'req',
  id: String(++ids),
  method: 'POST',
  path,
  headers: [['content-type', 'application/json'], ['content-length', '99']],
  body: Buffer.from(JSON.stringify(json)),
})
const answer = (status: number, json?: unknown) => ({ status, headers: [], body: Buffer.from(json === undefined ? '' : JSON.stringify(json)) })
const advance = answer(200, { request_type: 'advance_state', data: { metadata: {}, payload: '0x' } })
const inspect = answer(200, { request_type: 'inspect_state', data: { payload: '0x' } })

function gate() {
  const events: string[] = []
  const g = createInputGate({
    log: () => {},
    commit: async () => void events.push('commit'),
    rollBack: (reason: string, verdict: Verdict | undefined) => void events.push(`rollback ${verdict ?? '-'}`),
  })
  /** The guest sends `request`; the API answers `reply` (if it gets through). */
  const exchange = async (request: RequestFrame, reply = answer(202)) => {
    const sent = await g.beforeRequest(request)
    if (sent) g.afterResponse(sent, reply)
    return sent
  }
  return { g, events, exchange }
}

describe('the rollback gate', () => {
  it('commits the disk when an advance input is accepted, and only then', async () => {
    const { events, exchange } = gate()
    await exchange(post('/finish', { status: 'accept' }), inspect)
    await exchange(post('/report', { payload: '0x' }), answer(202))
    await exchange(post('/finish', { status: 'accept' }), advance)
    expect(events).toEqual([])
    await exchange(post('/notice', { payload: '0x' }), answer(201, { index: 0 }))
    expect(await exchange(post('/finish', { status: 'accept' }), answer(202))).toBeDefined()
    expect(events).toEqual(['commit'])
    await exchange(post('/finish', { status: 'accept' }), answer(202))
    expect(events).toEqual(['commit'])
  })

  it('holds a rejected input\'s verdict, rolls back, and sends the reject with the new VM\'s first /finish', async () => {
    const { g, events, exchange } = gate()
    await exchange(post('/finish', { status: 'accept' }), advance)
    expect(await exchange(post('/finish', { status: 'reject' }))).toBeUndefined()
    expect(events).toEqual(['rollback reject'])
    // The old VM is on its way out: nothing it says goes through.
    expect(await exchange(post('/report', { payload: '0x' }))).toBeUndefined()
    g.resume('reject')
    const first = await exchange(post('/finish', { status: 'accept' }), advance)
    expect(JSON.parse(first?.body.toString() ?? '')).toEqual({ status: 'reject' })
    expect(first?.headers).toEqual([['content-type', 'application/json']])
    // The next input is in flight as usual.
    await exchange(post('/finish', { status: 'accept' }), answer(202))
    expect(events).toEqual(['rollback reject', 'commit'])
    expect(g.counts).toEqual({ commits: 1, rollbacks: 1 })
  })

  it('lets an exception reach the node, then rolls back without a verdict to carry', async () => {
    const { g, events, exchange } = gate()
    await exchange(post('/finish', { status: 'accept' }), advance)
    expect(await exchange(post('/exception', { payload: '0x' }), answer(202))).toBeDefined()
    expect(events).toEqual(['rollback -'])
    g.resume(undefined)
    const first = await exchange(post('/finish', { status: 'accept' }))
    expect(JSON.parse(first?.body.toString() ?? '')).toEqual({ status: 'accept' })
  })

  it('does not roll back a rejected inspect (inspects change nothing the back end keeps)', async () => {
    const { events, exchange } = gate()
    await exchange(post('/finish', { status: 'accept' }), inspect)
    expect(await exchange(post('/finish', { status: 'reject' }))).toBeDefined()
    expect(events).toEqual([])
  })
})
