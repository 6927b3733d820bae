/**
 * Cartesi's own clients as test peers: `@cartesi/rpc` (typed JSON-RPC over fetch) and
 * `@cartesi/viem` (viem actions: camelCase records, bigints) read a devnet back after hello is
 * built through the rollup, and `@cartesi/viem`'s validateOutput checks the notice against the
 * rollups-contracts 2.2.0 Application the devnet deployed.
 *
 * Both clients are 2.0.0 alphas that follow the rollups node's main branch and rollups-contracts
 * v3, ahead of the v2 API the dev node serves (../shared/reference/rollups-node-v2-jsonrpc.md).
 * Where they read a v3 shape, the test says so and checks the v2 shape instead; the dev node is
 * not bent to an alpha's quirk. What the dev node cannot know (a machine hash) it sends as the
 * API allows: null where the field is nullable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPublicClient, decodeFunctionData, getAddress, http, keccak256, toHex, type Hex } from 'viem'
import { anvil } from 'viem/chains'
import { createClient, type CartesiClient } from '@cartesi/rpc'
import { createCartesiPublicClient, publicActionsL1, type CartesiPublicClient } from '@cartesi/viem'
import { inputBoxAddress as v3InputBoxAddress } from '@cartesi/viem/abi'
import { dataAvailabilityAbi } from '../../contracts-client/abi/rollups.ts'
import { decodeBuildResult } from '../../dapp/protocol/buildResult.ts'
import { outputSelectors } from '../../dapp/protocol/nodeApi.ts'
import { decodeReport } from '../../dapp/protocol/reports.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { addInput, startTestDevnet, waitForInput, waitForProof } from '../harness/devnet.ts'

const helloPayload = '{"attr":"hello"}'
/** A request the back end rejects with a report (attr must be a string): the suite's report. */
const rejectedPayload = '{"attr": 42}'

let devnet: Devnet
/** `@cartesi/rpc`: answers as the node writes them (snake_case, hex quantities). */
let rpcClient: CartesiClient
/** `@cartesi/viem`'s L2 client: the same answers parsed (camelCase, bigints, Dates). */
let cartesi: CartesiPublicClient
let application: Hex
let hello: { inputIndex: number; noticeIndex: number; epochIndex: number }
let rejected: { inputIndex: number }

beforeAll(async () => {
  devnet = await startTestDevnet()
  application = devnet.deployment.application
  rpcClient = createClient({ uri: `${devnet.nodeUrl}/rpc` })
  cartesi = createCartesiPublicClient({ transport: http(`${devnet.nodeUrl}/rpc`) })

  const inputIndex = await addInput(devnet, helloPayload)
  expect((await waitForInput(devnet, inputIndex)).status).toBe('ACCEPTED')
  const { data: outputs } = await rpcClient.request('cartesi_listOutputs', { application, input_index: toHex(inputIndex) })
  const notice = outputs.find((o) => o.raw_data.startsWith(outputSelectors.Notice))
  if (!notice) throw new Error(`hello (input ${inputIndex}) has no notice`)
  const proven = await waitForProof(devnet, Number(notice.index))
  hello = { inputIndex, noticeIndex: Number(notice.index), epochIndex: Number(proven.epochIndex) }

  const bad = await addInput(devnet, rejectedPayload)
  expect((await waitForInput(devnet, bad)).status).toBe('REJECTED')
  rejected = { inputIndex: bad }
})
afterAll(async () => {
  await devnet?.stop()
})

const chainClient = () => createPublicClient({ chain: anvil, transport: http(devnet.chainUrl) }).extend(publicActionsL1())

describe("@cartesi/rpc against the dev node (the node's own shapes)", () => {
  it('reads the chain id and the node version', async () => {
    expect(await rpcClient.request('cartesi_getChainId')).toEqual({ data: '0x7a69' })
    const { data: version } = await rpcClient.request('cartesi_getNodeVersion')
    expect(version).toMatch(/^cartenix-devnode-/)
  })

  it('lists the application and gets it by address and by name, in the v2 shape', async () => {
    const list = await rpcClient.request('cartesi_listApplications', {})
    expect(list.pagination).toEqual({ total_count: 1, limit: 50, offset: 0 })
    const [listed] = list.data
    expect(listed).toMatchObject({
      iapplication_address: application.toLowerCase(),
      iconsensus_address: devnet.deployment.consensus.toLowerCase(),
      iinputbox_address: devnet.deployment.inputBox.toLowerCase(),
      template_hash: devnet.deployment.templateHash,
      epoch_length: toHex(devnet.deployment.epochLength),
      consensus_type: 'AUTHORITY',
    })
    const { data: byAddress } = await rpcClient.request('cartesi_getApplication', { application })
    const { data: byName } = await rpcClient.request('cartesi_getApplication', { application: listed?.name ?? '' })
    expect(byName.iapplication_address).toBe(application.toLowerCase())
    expect(byAddress.name).toBe(listed?.name)
    expect(BigInt(byAddress.processed_inputs)).toBeGreaterThanOrEqual(2n)
    const da = decodeFunctionData({ abi: dataAvailabilityAbi, data: byAddress.data_availability })
    expect(da.functionName).toBe('InputBox')
    expect(getAddress(da.args[0] as Hex)).toBe(getAddress(devnet.deployment.inputBox))
    // The alpha's Application is v3's: `enabled` + `status` (OK | FAILED | ...) where v2 has `state`
    // (ENABLED | DISABLED | INOPERABLE); withdrawal_config, claim_staging_period and the
    // foreclosure/accounts-drive fields do not exist in v2. The dev node answers v2's.
    expect(byAddress).toMatchObject({ state: 'ENABLED' })
    expect(byAddress).not.toHaveProperty('withdrawal_config')
    expect(byAddress).not.toHaveProperty('claim_staging_period')
  })

  // The v2 Application record lists both; the alpha's types name them too.
  it('the application carries execution_parameters and last_tournament_check_block (v2 reference)', async () => {
    const { data } = await rpcClient.request('cartesi_getApplication', { application })
    expect(data).toHaveProperty('execution_parameters.advance_max_deadline')
    expect(data.execution_parameters.max_concurrent_inspects).toBeGreaterThan(0)
    expect(data).toHaveProperty('last_tournament_check_block')
  })

  it("lists epochs, gets hello's, and names the last accepted epoch", async () => {
    const epochs = await rpcClient.request('cartesi_listEpochs', { application })
    expect(epochs.pagination.total_count).toBe(epochs.data.length)
    const listed = epochs.data.find((e) => e.index === toHex(hello.epochIndex))
    expect(listed).toBeDefined()
    const { data: epoch } = await rpcClient.request('cartesi_getEpoch', { application, epoch_index: toHex(hello.epochIndex) })
    expect(epoch).toMatchObject({ index: toHex(hello.epochIndex), status: 'CLAIM_ACCEPTED', outputs_merkle_root: expect.stringMatching(/^0x[0-9a-f]{64}$/) })
    expect(BigInt(epoch.input_index_lower_bound)).toBeLessThanOrEqual(BigInt(hello.inputIndex))
    expect(BigInt(epoch.input_index_upper_bound)).toBeGreaterThan(BigInt(hello.inputIndex))
    expect(listed).toEqual(epoch)
    const accepted = await rpcClient.request('cartesi_listEpochs', { application, status: 'CLAIM_ACCEPTED' })
    expect(accepted.data.every((e) => e.status === 'CLAIM_ACCEPTED')).toBe(true)
    const { data: last } = await rpcClient.request('cartesi_getLastAcceptedEpochIndex', { application })
    expect(BigInt(last)).toBeGreaterThanOrEqual(BigInt(hello.epochIndex))
  })

  it('lists and gets the inputs with the payload that was sent, and counts the processed ones', async () => {
    const { data: input } = await rpcClient.request('cartesi_getInput', { application, input_index: toHex(hello.inputIndex) })
    expect(input).toMatchObject({ index: toHex(hello.inputIndex), status: 'ACCEPTED' })
    expect(input.decoded_data?.payload).toBe(toHex(helloPayload))
    expect(input.decoded_data).toMatchObject({ chain_id: '0x7a69', index: toHex(hello.inputIndex) })
    expect(getAddress(input.decoded_data?.application_contract ?? '0x')).toBe(getAddress(application))
    // v2 names the transaction `transaction_reference` (the alpha's types say transaction_hash + log_index).
    expect(input).toHaveProperty('transaction_reference', expect.stringMatching(/^0x[0-9a-f]{64}$/))

    const list = await rpcClient.request('cartesi_listInputs', { application })
    expect(list.data.map((i) => i.index)).toEqual(expect.arrayContaining([toHex(hello.inputIndex), toHex(rejected.inputIndex)]))
    expect(list.data.find((i) => i.index === toHex(rejected.inputIndex))).toMatchObject({ status: 'REJECTED' })
    expect(list.data.find((i) => i.index === toHex(hello.inputIndex))).toEqual(input)
    const { data: count } = await rpcClient.request('cartesi_getProcessedInputCount', { application })
    expect(BigInt(count)).toBe(BigInt(list.pagination.total_count))
  })

  it("lists and gets hello's notice: a BuildResult for hello-2.10.drv, with its proof", async () => {
    const list = await rpcClient.request('cartesi_listOutputs', { application, input_index: toHex(hello.inputIndex) })
    expect(list.data).toHaveLength(1)
    const { data: output } = await rpcClient.request('cartesi_getOutput', { application, output_index: toHex(hello.noticeIndex) })
    expect(list.data[0]).toEqual(output)
    // v2 writes decoded_data.type as the 4-byte selector; the alpha's types say the name ("Notice").
    expect(output.decoded_data).toMatchObject({ type: outputSelectors.Notice })
    const payload = output.decoded_data?.payload ?? '0x'
    const result = decodeBuildResult(payload)
    expect(result).toMatchObject({ inputIndex: BigInt(hello.inputIndex), success: true, requestHash: keccak256(toHex(helloPayload)) })
    expect(result.drvPath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-hello-2\.10\.drv$/)
    expect(output.output_hashes_siblings).toHaveLength(63)
    expect(output.hash).toMatch(/^0x[0-9a-f]{64}$/)
    const notices = await rpcClient.request('cartesi_listOutputs', { application, output_type: outputSelectors.Notice })
    expect(notices.data.map((o) => o.index)).toContain(toHex(hello.noticeIndex))
  })

  it("lists and gets the rejected input's report", async () => {
    const list = await rpcClient.request('cartesi_listReports', { application, input_index: toHex(rejected.inputIndex) })
    expect(list.data.length).toBeGreaterThan(0)
    const [first] = list.data
    const { data: report } = await rpcClient.request('cartesi_getReport', { application, report_index: first?.index ?? '0x0' })
    expect(report).toEqual(first)
    expect(report.input_index).toBe(toHex(rejected.inputIndex))
    expect(decodeReport(report.raw_data).report).toMatchObject({ type: 'rejected', reason: expect.stringContaining('attr') })
  })
})

describe("@cartesi/viem's L2 actions against the dev node (parsed records)", () => {
  it('reads the chain id (31337) and the node version', async () => {
    expect(await cartesi.getChainId()).toBe(31337)
    expect(await cartesi.getNodeVersion()).toMatch(/^cartenix-devnode-/)
  })

  // The alpha's application parser reads rollups-contracts v3 fields unconditionally
  // (hexToBigInt(claim_staging_period), withdrawal_config.guardian, execution_parameters.*): a v2
  // record has no claim_staging_period nor withdrawal_config, so listApplications/getApplication
  // throw before returning. The alpha's quirk, not the dev node's (they are not v2 fields); the
  // v2 shape is checked through @cartesi/rpc above.
  it('fails to parse a v2 Application (listApplications, getApplication): the alpha reads v3 fields', async () => {
    await expect(cartesi.listApplications()).rejects.toThrow('Cannot convert undefined to a BigInt')
    await expect(cartesi.getApplication({ application })).rejects.toThrow('Cannot convert undefined to a BigInt')
  })

  it("lists epochs, gets hello's, and the last accepted epoch index", async () => {
    const epochs = await cartesi.listEpochs({ application })
    expect(epochs.pagination.totalCount).toBe(epochs.data.length)
    const epoch = await cartesi.getEpoch({ application, epochIndex: BigInt(hello.epochIndex) })
    expect(epoch).toMatchObject({ index: BigInt(hello.epochIndex), status: 'CLAIM_ACCEPTED', outputsMerkleRoot: expect.stringMatching(/^0x[0-9a-f]{64}$/) })
    expect(epochs.data.find((e) => e.index === BigInt(hello.epochIndex))).toEqual(epoch)
    expect(await cartesi.getLastAcceptedEpochIndex({ application })).toBeGreaterThanOrEqual(BigInt(hello.epochIndex))
  })

  it('lists and gets the inputs, with the payload that was sent; counts the processed ones', async () => {
    const input = await cartesi.getInput({ application, inputIndex: BigInt(hello.inputIndex) })
    expect(input).toMatchObject({ index: BigInt(hello.inputIndex), status: 'ACCEPTED', transactionReference: expect.stringMatching(/^0x[0-9a-f]{64}$/) })
    expect(input.decodedData).toMatchObject({ chainId: 31337n, applicationContract: getAddress(application), payload: toHex(helloPayload), index: BigInt(hello.inputIndex) })
    const list = await cartesi.listInputs({ application })
    expect(list.data.find((i) => i.index === BigInt(hello.inputIndex))).toEqual(input)
    expect(list.data.find((i) => i.index === BigInt(rejected.inputIndex))?.status).toBe('REJECTED')
    expect(await cartesi.getProcessedInputCount({ application })).toBe(BigInt(list.pagination.totalCount))
    const waited = await cartesi.waitForInput({ application, inputIndex: BigInt(hello.inputIndex) })
    expect(waited.status).toBe('ACCEPTED')
  })

  it("lists and gets hello's notice; its raw data decodes as hello's BuildResult", async () => {
    const output = await cartesi.getOutput({ application, outputIndex: BigInt(hello.noticeIndex) })
    expect(output).toMatchObject({ index: BigInt(hello.noticeIndex), inputIndex: BigInt(hello.inputIndex), epochIndex: BigInt(hello.epochIndex) })
    expect(output.outputHashesSiblings).toHaveLength(63)
    // The alpha's output parser switches on decoded_data.type as a name ("Notice"); v2 sends the
    // selector (0xc258d6e5), so decodedData comes back undefined. The alpha's quirk: decode rawData.
    expect(output.decodedData).toBeUndefined()
    const { functionName, args } = decodeFunctionData({ abi: [{ type: 'function', name: 'Notice', inputs: [{ name: 'payload', type: 'bytes' }], outputs: [], stateMutability: 'nonpayable' }], data: output.rawData })
    expect(functionName).toBe('Notice')
    const result = decodeBuildResult(args[0])
    expect(result).toMatchObject({ inputIndex: BigInt(hello.inputIndex), success: true })
    expect(result.drvPath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-hello-2\.10\.drv$/)
    // outputType takes the name and sends the selector: the filter works against v2.
    const notices = await cartesi.listOutputs({ application, outputType: 'Notice' })
    expect(notices.data.map((o) => o.index)).toContain(BigInt(hello.noticeIndex))
    const vouchers = await cartesi.listOutputs({ application, outputType: 'Voucher' })
    expect(vouchers.data).toEqual([])
  })

  it("lists and gets the rejected input's report", async () => {
    const list = await cartesi.listReports({ application, inputIndex: BigInt(rejected.inputIndex) })
    const [first] = list.data
    expect(first?.inputIndex).toBe(BigInt(rejected.inputIndex))
    const report = await cartesi.getReport({ application, reportIndex: first?.index ?? 0n })
    expect(report).toEqual(first)
    expect(decodeReport(report.rawData).report).toMatchObject({ type: 'rejected' })
  })
})

describe("@cartesi/viem's L1 actions against the 2.2.0 contracts", () => {
  it("validates hello's notice with validateOutput, pointed at the 2.2.0 Application; a tampered one does not", async () => {
    // validateOutput takes the application's address (nothing hard-coded) and calls
    // validateOutput(bytes, (uint64, bytes32[])), whose selector 2.2.0 and v3 share.
    const output = await cartesi.getOutput({ application, outputIndex: BigInt(hello.noticeIndex) })
    const l1 = chainClient()
    expect(await l1.validateOutput({ application, output })).toBe(true)
    const last = output.rawData.slice(-2)
    const tampered = { ...output, rawData: `${output.rawData.slice(0, -2)}${last === '00' ? '01' : '00'}` as Hex }
    expect(await l1.validateOutput({ application, output: tampered })).toBe(false)
    expect(await l1.validateOutput({ application, output: { ...output, index: output.index + 1n } })).toBe(false)
  })

  // The alpha's addInput/deposit actions send to rollups-contracts v3's deterministic addresses
  // (InputBox 0x346B…3939), not to the devnet's 2.2.0 InputBox, and take no address to override
  // it. The alpha's limit, not the dev node's: inputs go through the devnet's own InputBox.
  it("addInput is hard-wired to v3's InputBox, which the 2.2.0 devnet does not have", async () => {
    expect(getAddress(v3InputBoxAddress)).not.toBe(getAddress(devnet.deployment.inputBox))
    expect(await createPublicClient({ chain: anvil, transport: http(devnet.chainUrl) }).getCode({ address: v3InputBoxAddress })).toBeUndefined()
  })
})
