/**
 * The dev node's read API against the v2 API's shapes, on a devnet: params `[]` where a method
 * takes none, output types as selectors, epoch roots as outputs_merkle_root, the last accepted
 * epoch, PRT's methods answering empty for an Authority, rpc.discover, and inspect answers that
 * leave an empty exception out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toHex } from 'viem'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { nodeMethods, outputSelectors } from '../../dapp/protocol/nodeApi.ts'
import { addInput, rpc, rpcWire, startTestDevnet, waitForInput, waitForProof } from '../harness/devnet.ts'

let devnet: Devnet
beforeAll(async () => {
  devnet = await startTestDevnet()
})
afterAll(async () => {
  await devnet?.stop()
})

const post = async (body: unknown) => (await fetch(`${devnet.nodeUrl}/rpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()

describe("the dev node's read API, in the v2 API's shapes", () => {
  it('takes params [] for the methods without params, as Cartesi clients send them', async () => {
    expect(await post({ jsonrpc: '2.0', id: 1, method: 'cartesi_getChainId', params: [] })).toMatchObject({ result: { data: '0x7a69' } })
    expect(await post({ jsonrpc: '2.0', id: 2, method: 'cartesi_getNodeVersion', params: [] })).toMatchObject({ result: { data: expect.any(String) } })
  })

  it('writes output types as selectors and epoch roots as outputs_merkle_root; names the last accepted epoch', async () => {
    await expect(rpcWire(devnet, 'cartesi_getLastAcceptedEpochIndex')).rejects.toMatchObject({ code: -32001 })
    const index = await addInput(devnet, '{"attr":"hello"}')
    expect((await waitForInput(devnet, index)).status).toBe('ACCEPTED')
    const wire = (await rpcWire(devnet, 'cartesi_listOutputs', { input_index: toHex(index) })) as { data: { index: string; decoded_data: { type: string } }[] }
    expect(wire.data.map((o) => o.decoded_data.type)).toEqual([outputSelectors.Notice])
    const proven = await waitForProof(devnet, Number(wire.data[0]?.index))
    const epochWire = (await rpcWire(devnet, 'cartesi_getEpoch', { epoch_index: toHex(proven.epochIndex) })) as { data: Record<string, unknown> }
    expect(epochWire.data).toMatchObject({ status: 'CLAIM_ACCEPTED', outputs_merkle_root: expect.stringMatching(/^0x[0-9a-f]{64}$/) })
    expect(epochWire.data).not.toHaveProperty('claim_hash')
    const last = await rpc(devnet, 'cartesi_getLastAcceptedEpochIndex')
    expect(last.data).toBeGreaterThanOrEqual(proven.epochIndex)
  })

  it("answers PRT's methods with empty lists and not-found for an Authority, and describes itself (rpc.discover)", async () => {
    for (const method of ['cartesi_listTournaments', 'cartesi_listCommitments', 'cartesi_listMatches', 'cartesi_listMatchAdvances'] as const) {
      expect(await rpc(devnet, method, {})).toEqual({ data: [], pagination: { totalCount: 0, limit: 50, offset: 0 } })
    }
    await expect(rpcWire(devnet, 'cartesi_getTournament', { address: `0x${'00'.repeat(20)}` })).rejects.toMatchObject({ code: -32001 })
    const discovered = await post({ jsonrpc: '2.0', id: 3, method: 'rpc.discover' })
    expect(discovered.result.methods.map((m: { name: string }) => m.name).sort()).toEqual(Object.keys(nodeMethods).sort())
  })

  it('leaves an empty exception out of an inspect answer', async () => {
    const response = await fetch(`${devnet.nodeUrl}/inspect/${devnet.deployment.application}`, { method: 'POST', body: '{"query":"attributes"}' })
    const body = (await response.json()) as Record<string, unknown>
    expect(body).toMatchObject({ status: 'Accepted' })
    expect(body).not.toHaveProperty('exception')
  })
})
