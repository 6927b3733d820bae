/**
 * The node's deadline for an input (v2's advance_max_deadline) and the back end's own timeouts
 * under it. The dev node ends an input that runs past the deadline as the real node does
 * (TIME_LIMIT_EXCEEDED; its outputs dropped, its reports kept; counted as processed; the next
 * input served by a fresh back end), and a back end told the deadline ends a build that would
 * outlive it with a failed notice first.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { toHex } from 'viem'
import { createNodeClient, InputNotAcceptedError, waitForResult } from '../../contracts-client/index.ts'
import { rollupRequest } from '../../dapp/protocol/rollupHttp.ts'
import { exec } from '../../dapp/lib/exec.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { addInput, reportsOf, rpc, rpcWire, startTestDevnet, waitFor, waitForInput } from '../harness/devnet.ts'

const nonce = `${process.pid}-${Date.now()}`
// Each sleeps its own number of seconds, so that `ps` tells its builder from any other test's.
const sleepy = (name: string, seconds: number) => JSON.stringify({ expr: `pkgs: pkgs.mkDerivation { name = "${name}-${nonce}"; buildPhase = "sleep ${seconds}"; }` })
const sleeping = async (seconds: number) => (await exec('ps', ['-eo', 'args'])).stdout.split('\n').some((line) => line.trim() === `sleep ${seconds}`)
const quick = (name: string) => JSON.stringify({ expr: `pkgs: pkgs.mkDerivation { name = "${name}-${nonce}"; buildPhase = "echo quick"; installPhase = "echo quick > $out"; }` })

const devnets: Devnet[] = []
afterAll(async () => {
  for (const devnet of devnets) await devnet.stop()
})

async function realising(name: string) {
  await waitFor(`the back end to build ${name}`, async () => {
    const { stdout } = await exec('ps', ['-eo', 'args'])
    return stdout.split('\n').some((line) => line.includes('--realise') && line.includes(`-${name}-${nonce}.drv`)) || undefined
  }, 180_000)
}

describe("the node's deadline, with a back end played by hand", () => {
  it('ends an input past advance_max_deadline as TIME_LIMIT_EXCEEDED: outputs dropped, reports kept, counted, next input served', async () => {
    const devnet = await startTestDevnet({ backend: false, executionLimits: { advanceMaxDeadlineMs: 1500 } })
    devnets.push(devnet)
    const post = (path: string, body: unknown) => fetch(`${devnet.rollupUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const next = async () => {
      for (let attempt = 0; attempt < 30; attempt++) {
        const response = await post('/finish', { status: 'accept' })
        if (response.status === 200) return rollupRequest.parse(await response.json())
      }
      throw new Error('no input was served')
    }

    const application = (await rpcWire(devnet, 'cartesi_getApplication')) as { data: Record<string, unknown> }
    expect(application.data).toMatchObject({
      last_tournament_check_block: '0x0',
      execution_parameters: { advance_max_deadline: toHex(1_500_000_000n), inspect_max_deadline: toHex(180_000_000_000n), max_concurrent_inspects: 10, snapshot_policy: 'NONE' },
    })
    const before = Number((await rpc(devnet, 'cartesi_getProcessedInputCount')).data)

    const late = await addInput(devnet, 'too slow')
    expect(await next()).toMatchObject({ data: { metadata: { input_index: late } } })
    expect((await post('/notice', { payload: '0x01' })).status).toBe(201)
    expect((await post('/report', { payload: '0xbeef' })).status).toBe(202)
    expect((await waitForInput(devnet, late)).status).toBe('TIME_LIMIT_EXCEEDED')
    // Too late: the input is over, and what the back end sends now is refused.
    expect((await post('/notice', { payload: '0x02' })).status).toBe(400)
    expect((await rpc(devnet, 'cartesi_listOutputs', { input_index: toHex(late) })).data).toEqual([])
    expect((await rpc(devnet, 'cartesi_listReports', { input_index: toHex(late) })).data.map((r) => r.payload)).toEqual(['0xbeef'])
    expect(Number((await rpc(devnet, 'cartesi_getProcessedInputCount')).data)).toBe(before + 1)

    const onTime = await addInput(devnet, 'quick')
    expect(await next()).toMatchObject({ data: { metadata: { input_index: onTime } } })
    expect((await post('/notice', { payload: '0x03' })).status).toBe(201)
    expect((await post('/finish', { status: 'accept' })).status).toBe(202)
    expect((await waitForInput(devnet, onTime)).status).toBe('ACCEPTED')
    const outputs = (await rpc(devnet, 'cartesi_listOutputs')).data
    expect(outputs.map((o) => o.decoded.payload)).toEqual(['0x03'])
    // The timed-out input's epoch is claimed like any other.
    const epoch = await waitFor('the epoch claimed', async () => {
      const { data } = await rpc(devnet, 'cartesi_getEpoch', { epoch_index: toHex((await waitForInput(devnet, late)).epochIndex) })
      return data.status === 'CLAIM_ACCEPTED' ? data : undefined
    }, 60_000)
    expect(epoch.claimHash).toMatch(/^0x[0-9a-f]{64}$/)
  })
})

describe('inspect requests under the execution parameters, with a back end played by hand', () => {
  it('admits max_concurrent_inspects at once, the others wait for a place; one past inspect_max_deadline is an exception', async () => {
    const devnet = await startTestDevnet({ backend: false, inspectTimeoutMs: 1500, executionLimits: { maxConcurrentInspects: 1, inspectMaxDeadlineMs: 4000 } })
    devnets.push(devnet)
    const inspect = () => fetch(`${devnet.nodeUrl}/inspect/${devnet.deployment.application}`, { method: 'POST', body: 'query' })
    // No back end: an admitted inspect waits for one, and gives up.
    expect(await (await inspect()).text()).toContain('No back end took the inspect request within 1500 ms')

    // A back end takes one and never finishes it: it holds the one place until inspect_max_deadline.
    const held = inspect()
    let request
    for (let attempt = 0; attempt < 30 && !request; attempt++) {
      const response = await fetch(`${devnet.rollupUrl}/finish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'accept' }) })
      if (response.status === 200) request = rollupRequest.parse(await response.json())
    }
    expect(request).toMatchObject({ request_type: 'inspect_state' })
    const waiting = await inspect()
    expect(waiting.status).toBe(503)
    expect(await waiting.text()).toContain('at its limit of 1 concurrent inspect request(s) (max_concurrent_inspects), and no place came free within 1500 ms')
    const late = await held
    expect(late.status).toBe(200)
    const body = (await late.json()) as { status: string; exception?: string }
    expect(body.status).toBe('Exception')
    expect(Buffer.from((body.exception ?? '0x').slice(2), 'hex').toString()).toContain("an inspect request ran past the node's deadline (inspect_max_deadline, 4 s)")
    // The place is free again: the next one is admitted and waits for a back end.
    expect(await (await inspect()).text()).toContain('No back end took')
  })
})

describe("the node's deadline, with the real back end", () => {
  it('a build that would outlive the deadline ends in time with a failed notice saying it timed out', async () => {
    // A 40 s deadline: 10 s kept back, 10 s to evaluate (given), so 20 s to build.
    const devnet = await startTestDevnet({ executionLimits: { advanceMaxDeadlineMs: 40_000 }, backendEnv: { CARTENIX_EVAL_TIMEOUT_MS: '10000' } })
    devnets.push(devnet)
    const index = await addInput(devnet, sleepy('sleepy', 1201))
    const node = createNodeClient({ url: `${devnet.nodeUrl}/rpc` })
    const { input, notice } = await waitForResult(node, { application: devnet.deployment.application, inputIndex: BigInt(index), timeoutMs: 300_000 })
    // ACCEPTED, not TIME_LIMIT_EXCEEDED: the node's own clock did not run out.
    expect(input.status).toBe('ACCEPTED')
    expect(notice.result).toMatchObject({ success: false, drvPath: expect.stringMatching(new RegExp(`sleepy-${nonce}\\.drv$`)) })
    await waitFor('the timed-out builder to be stopped', async () => ((await sleeping(1201)) ? undefined : true), 30_000)
    const reports = await reportsOf(devnet, index)
    expect(reports.find((r) => r?.type === 'build-failed')).toMatchObject({ logTail: expect.stringMatching(/timed out after 20 seconds/) })
  })

  it('an input that outlives a node deadline the back end was not told ends as TIME_LIMIT_EXCEEDED; a new back end takes the next', async () => {
    // The operator's mistake this guards against: the node's deadline (25 s) shorter than the one the back end was told (10 min).
    const devnet = await startTestDevnet({ executionLimits: { advanceMaxDeadlineMs: 25_000 }, backendEnv: { CARTENIX_ADVANCE_DEADLINE_MS: '600000' } })
    devnets.push(devnet)
    const first = devnet.backend
    const late = await addInput(devnet, sleepy('outlived', 1202))
    await realising('outlived')
    await waitFor('the builder of the late input to run', async () => ((await sleeping(1202)) ? true : undefined), 60_000)
    expect((await waitForInput(devnet, late)).status).toBe('TIME_LIMIT_EXCEEDED')
    expect((await rpc(devnet, 'cartesi_listOutputs', { input_index: toHex(late) })).data).toEqual([])
    // The back end that held it (and its build) is gone; another serves.
    await waitFor('the builder of the late input to be stopped', async () => ((await sleeping(1202)) ? undefined : true), 60_000)
    expect(first).toBeDefined()
    expect(first?.exitCode !== null || first?.signalCode !== null).toBe(true)
    expect(devnet.backend).not.toBe(first)

    const next = await addInput(devnet, quick('after'))
    const node = createNodeClient({ url: `${devnet.nodeUrl}/rpc` })
    const { notice } = await waitForResult(node, { application: devnet.deployment.application, inputIndex: BigInt(next), timeoutMs: 300_000 })
    expect(notice.result).toMatchObject({ success: true })
    const lateResult = await waitForResult(node, { application: devnet.deployment.application, inputIndex: BigInt(late) }).catch((e: unknown) => e)
    expect(lateResult).toBeInstanceOf(InputNotAcceptedError)
    expect(String(lateResult)).toContain("TIME_LIMIT_EXCEEDED (it ran past the node's deadline for an input)")
  })
})
