/**
 * The node's read API as the client reads it, on answers shaped as the real rollups node v2 sends
 * them (the OpenRPC document of cartesi/rollups-node, condensed in the team's reference): selectors
 * as output types, nullable fields left null or out, statuses newer than this client.
 */
import { describe, expect, it } from 'vitest'
import { encodeFunctionData, getAddress } from 'viem'
import { decodeOutputData, describeInputStatus, inputStatuses, nodeMethods, outputSelectors, outputsInterface, wireInspectResult } from './nodeApi.ts'

const notice = encodeFunctionData({ abi: outputsInterface, functionName: 'Notice', args: ['0xcafe'] })
const voucher = encodeFunctionData({ abi: outputsInterface, functionName: 'Voucher', args: ['0x00000000000000000000000000000000000000aa', 5n, '0xbeef'] })
const output = (fields: Record<string, unknown>) => ({ epoch_index: '0x0', input_index: '0x1', index: '0x2', raw_data: notice, ...fields })

describe("the node's read API, read from answers shaped as the real node's", () => {
  it('reads output types as 4-byte selectors, the way the v2 API writes them', () => {
    expect(outputSelectors).toEqual({ Notice: '0xc258d6e5', Voucher: '0x237a816f', DelegateCallVoucher: '0x10321e8b' })
    const { data } = nodeMethods.cartesi_getOutput.result.parse({ data: output({ decoded_data: { type: '0xc258d6e5', payload: '0xcafe' } }) })
    expect(data.decoded).toEqual({ type: 'Notice', payload: '0xcafe' })
    const { data: paid } = nodeMethods.cartesi_getOutput.result.parse({
      data: output({ raw_data: voucher, decoded_data: { type: '0x237a816f', destination: '0x00000000000000000000000000000000000000aa', value: '0x5', payload: '0xbeef' } }),
    })
    expect(paid.decoded).toEqual({ type: 'Voucher', destination: '0x00000000000000000000000000000000000000aa', value: 5n, payload: '0xbeef' })
  })

  it('decodes raw_data itself when decoded_data is null or left out, and refuses a type it does not know', () => {
    for (const fields of [{ decoded_data: null }, {}]) {
      expect(nodeMethods.cartesi_getOutput.result.parse({ data: output(fields) }).data.decoded).toEqual({ type: 'Notice', payload: '0xcafe' })
    }
    expect(decodeOutputData(voucher)).toEqual({ type: '0x237a816f', destination: getAddress('0x00000000000000000000000000000000000000aa'), value: '0x5', payload: '0xbeef' })
    expect(nodeMethods.cartesi_getOutput.result.safeParse({ data: output({ decoded_data: { type: '0xdeadbeef', payload: '0x' } }) }).success).toBe(false)
  })

  it('keeps an input status it does not know as it came (a newer node adds REPORTS_LIMIT_EXCEEDED)', () => {
    const input = { epoch_index: '0x0', index: '0x3', block_number: '0x10', raw_data: '0x', status: 'REPORTS_LIMIT_EXCEEDED', decoded_data: null, transaction_reference: null }
    const { data } = nodeMethods.cartesi_getInput.result.parse({ data: input })
    expect(data.status).toBe('REPORTS_LIMIT_EXCEEDED')
    expect(data.sender).toBeUndefined()
  })

  it("reads an application's execution parameters (nanoseconds, hex) and its deadline in ms; an older node's record without them still reads", () => {
    const ns = (seconds: number) => `0x${(BigInt(seconds) * 1_000_000_000n).toString(16)}`
    const application = {
      name: 'cartenix', iapplication_address: '0x00000000000000000000000000000000000000aa', iconsensus_address: '0x00000000000000000000000000000000000000bb',
      epoch_length: '0xa', consensus_type: 'AUTHORITY', state: 'ENABLED', last_tournament_check_block: '0x0',
    }
    const execution_parameters = {
      snapshot_policy: 'NONE', advance_inc_cycles: '0x400000', advance_max_cycles: '0x3fffffffffffffff', inspect_inc_cycles: '0x400000', inspect_max_cycles: '0x3fffffffffffffff',
      advance_inc_deadline: ns(10), advance_max_deadline: ns(180), inspect_inc_deadline: ns(10), inspect_max_deadline: ns(180),
      load_deadline: ns(300), store_deadline: ns(180), fast_deadline: ns(5), max_concurrent_inspects: 10,
    }
    expect(nodeMethods.cartesi_getApplication.result.parse({ data: { ...application, execution_parameters } }).data.advanceMaxDeadlineMs).toBe(180_000)
    expect(nodeMethods.cartesi_getApplication.result.parse({ data: application }).data.advanceMaxDeadlineMs).toBeUndefined()
    expect(nodeMethods.cartesi_getApplication.result.safeParse({ data: { ...application, execution_parameters: { ...execution_parameters, advance_max_deadline: 180 } } }).success).toBe(false)
  })

  it('reads an epoch root as outputs_merkle_root (v2), and as claim_hash from older dev nodes', () => {
    const root = `0x${'ab'.repeat(32)}`
    const epoch = { index: '0x1', first_block: '0x0', last_block: '0x9', status: 'CLAIM_ACCEPTED' }
    expect(nodeMethods.cartesi_getEpoch.result.parse({ data: { ...epoch, outputs_merkle_root: root } }).data.claimHash).toBe(root)
    expect(nodeMethods.cartesi_getEpoch.result.parse({ data: { ...epoch, claim_hash: root } }).data.claimHash).toBe(root)
  })

  it('reads an inspect answer with reports null and no exception', () => {
    expect(wireInspectResult.parse({ status: 'Accepted', reports: null, processed_input_count: 4 })).toEqual({
      status: 'Accepted',
      exception: undefined,
      reports: [],
      processedInputCount: 4,
    })
  })

  it('names every input status in words, and one it does not know as such', () => {
    for (const status of inputStatuses) expect(describeInputStatus(status)).toMatch(new RegExp(`^${status} \\(.{8,}\\)$`))
    expect(describeInputStatus('TIME_LIMIT_EXCEEDED')).toBe("TIME_LIMIT_EXCEEDED (it ran past the node's deadline for an input)")
    expect(describeInputStatus('REPORTS_LIMIT_EXCEEDED')).toBe('REPORTS_LIMIT_EXCEEDED (a status this client does not know)')
  })

  it('takes [] as the params of a method that has none, as Cartesi clients send them', () => {
    expect(nodeMethods.cartesi_getChainId.params.safeParse([]).success).toBe(true)
    expect(nodeMethods.cartesi_getNodeVersion.params.safeParse({}).success).toBe(true)
    expect(nodeMethods.cartesi_getChainId.params.safeParse(['x']).success).toBe(false)
  })
})
