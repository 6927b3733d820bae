import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getAddress, keccak256, toHex, type Hex } from 'viem'
import { applicationAbi } from '../../contracts-client/abi/rollups.ts'
import { decodeBuildResult, decodeCallback } from '../../dapp/protocol/buildResult.ts'
import { runNix } from '../../dapp/nix/env.ts'
import { attributesAnswer, pathAnswer, resultAnswer, sourcesAnswer } from '../../dapp/protocol/inspect.ts'
import { hexToNarHash } from '../../dapp/protocol/narHash.ts'
import { nodeMethods, toQuantity, wireInspectResult } from '../../dapp/protocol/nodeApi.ts'
import { decodeReport } from '../../dapp/protocol/reports.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { addInput, clients, reportsOf, rpc, rpcWire, startTestDevnet, waitForInput, waitForProof } from '../harness/devnet.ts'

let devnet: Devnet
beforeAll(async () => {
  devnet = await startTestDevnet()
})
afterAll(async () => {
  await devnet?.stop()
})

const noticeOf = async (inputIndex: number) => {
  const { data } = await rpc(devnet, 'cartesi_listOutputs', { input_index: toHex(inputIndex) })
  const notice = data.find((o) => o.decoded.type === 'Notice')
  if (!notice) throw new Error(`input ${inputIndex} has no notice`)
  return { index: Number(notice.index), rawData: notice.rawData, result: decodeBuildResult(notice.decoded.payload) }
}

const validate = (output: Hex, outputIndex: number, siblings: Hex[]) =>
  clients(devnet).publicClient.readContract({
    address: devnet.deployment.application,
    abi: applicationAbi,
    functionName: 'validateOutput',
    args: [output, { outputIndex: BigInt(outputIndex), outputHashesSiblings: siblings }],
  })

describe('a build request through the rollup', () => {
  it('builds hello: InputBox → dev node → back end → notice, claimed and valid on-chain', async () => {
    const payload = '{"attr":"hello"}'
    const index = await addInput(devnet, payload)
    const input = await waitForInput(devnet, index)
    expect(input.status).toBe('ACCEPTED')

    const notice = await noticeOf(index)
    expect(notice.result).toMatchObject({ version: 2, inputIndex: BigInt(index), system: 'x86_64-linux', success: true, requestHash: keccak256(toHex(payload)) })
    expect(notice.result.drvPath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-hello-2\.10\.drv$/)
    const [out] = notice.result.outputs
    expect(out?.name).toBe('out')
    const { stdout } = await runNix('nix-store', ['--query', '--hash', out?.path ?? ''])
    expect(hexToNarHash(out?.narHash ?? '0x')).toBe(stdout.trim())
    const { stdout: size } = await runNix('nix-store', ['--query', '--size', out?.path ?? ''])
    expect(out?.narSize).toBe(BigInt(size.trim()))
    const { stdout: references } = await runNix('nix-store', ['--query', '--references', out?.path ?? ''])
    expect(out?.references).toEqual(references.split('\n').filter(Boolean).sort())
    const { stdout: closure } = await runNix('nix-store', ['--query', '--requisites', out?.path ?? ''])
    expect(notice.result.closure?.map((c) => c.path)).toEqual(closure.split('\n').filter((p) => p && p !== out?.path).sort())
    for (const path of notice.result.closure ?? []) {
      const { stdout: hash } = await runNix('nix-store', ['--query', '--hash', path.path])
      expect(hexToNarHash(path.narHash)).toBe(hash.trim())
    }

    const proven = await waitForProof(devnet, notice.index)
    expect(proven.siblings).toHaveLength(63)
    await expect(validate(notice.rawData, notice.index, proven.siblings)).resolves.toBeUndefined()

    const tampered = notice.rawData.slice(0, -2) + (notice.rawData.endsWith('00') ? '01' : '00')
    await expect(validate(tampered as Hex, notice.index, proven.siblings)).rejects.toThrow(/InvalidOutputsMerkleRoot/)
  })

  it('rejects a malformed request with a report, then still builds the next one', async () => {
    const bad = await addInput(devnet, '{"attr": 42}')
    expect((await waitForInput(devnet, bad)).status).toBe('REJECTED')
    expect((await reportsOf(devnet, bad))[0]).toMatchObject({ type: 'rejected', reason: expect.stringContaining('attr') })
    const { data: outputs } = await rpc(devnet, 'cartesi_listOutputs', { input_index: toHex(bad) })
    expect(outputs).toEqual([])

    const good = await addInput(devnet, '{"expr":"pkgs: pkgs.hello"}')
    expect((await waitForInput(devnet, good)).status).toBe('ACCEPTED')
    expect((await noticeOf(good)).result.success).toBe(true)
  })

  it('rejects expressions that reach for the network or the host, with the reason', async () => {
    for (const expr of ['pkgs: builtins.readFile /etc/passwd', 'pkgs: import (builtins.fetchurl "http://127.0.0.1:1/x.nix")']) {
      const index = await addInput(devnet, JSON.stringify({ expr }))
      expect((await waitForInput(devnet, index)).status).toBe('REJECTED')
      expect((await reportsOf(devnet, index))[0]).toMatchObject({ type: 'rejected', reason: 'evaluation failed', log: expect.stringMatching(/forbidden in (pure eval|restricted) mode/) })
    }
  })

  it('calls a callback contract back through a voucher that carries the result', async () => {
    const callback = '0x00000000000000000000000000000000000c0ffe' as const
    const index = await addInput(devnet, JSON.stringify({ attr: 'hello', callback }))
    expect((await waitForInput(devnet, index)).status).toBe('ACCEPTED')
    const { data } = await rpc(devnet, 'cartesi_listOutputs', { input_index: toHex(index) })
    const voucher = data.map((o) => o.decoded).find((o) => o.type === 'Voucher')
    expect(voucher?.destination.toLowerCase()).toBe(callback)
    expect(voucher?.value).toBe(0n)
    // The callback keeps the version-1 layout: the notice's result without references and closure.
    const { result } = await noticeOf(index)
    const version1 = { ...result, version: 1, closure: undefined, outputs: result.outputs.map(({ name, path, narHash, narSize }) => ({ name, path, narHash, narSize })) }
    expect(decodeCallback(voucher?.payload ?? '0x')).toEqual(version1)
  })

  it('turns a failing build into a notice with success false and a report with the log tail', async () => {
    const expr = `pkgs: pkgs.mkDerivation { name = "fails-${Date.now()}"; buildPhase = "echo cartenix-expected-failure >&2; exit 3"; }`
    const index = await addInput(devnet, JSON.stringify({ expr }))
    expect((await waitForInput(devnet, index)).status).toBe('ACCEPTED')
    const notice = await noticeOf(index)
    expect(notice.result.success).toBe(false)
    expect(notice.result.outputs).toEqual([])
    const reports = await reportsOf(devnet, index)
    expect(reports.find((r) => r?.type === 'build-failed')?.logTail).toContain('cartenix-expected-failure')
  })

  it('answers inspect queries: attributes, a recorded result, the sources, a store path', async () => {
    // Raw fetches, not inspectState: some of these queries are malformed on purpose.
    const inspect = async (query: unknown) => {
      const response = await fetch(`${devnet.nodeUrl}/inspect/${devnet.deployment.application}`, { method: 'POST', body: JSON.stringify(query) })
      const body = wireInspectResult.parse(await response.json())
      return { status: body.status, report: decodeReport(body.reports[0]?.payload ?? '0x').json }
    }
    expect(attributesAnswer.parse((await inspect({ query: 'attributes' })).report).attributes).toEqual(expect.arrayContaining(['hello', 'lua', 'readline', 'ncurses']))
    const { result } = await noticeOf(0)
    const recorded = resultAnswer.parse((await inspect({ query: 'result', drvPath: result.drvPath })).report)
    expect(recorded).toMatchObject({ found: true, result: { drvPath: result.drvPath, success: true } })
    const { sources } = sourcesAnswer.parse((await inspect({ query: 'sources' })).report)
    expect(sources.find((s) => s.name === 'hello-2.10.tar.gz')?.present).toBe(true)
    expect(pathAnswer.parse((await inspect({ query: 'path', path: result.outputs[0]?.path })).report)).toMatchObject({ query: 'path', valid: true })
    expect(pathAnswer.parse((await inspect({ query: 'path', path: `/nix/store/${'0'.repeat(32)}-never-built` })).report)).toMatchObject({ valid: false })
    expect((await inspect({ query: 'path', path: '/etc/passwd' })).status).toBe('Rejected')
    const bad = await inspect({ query: 'everything' })
    expect(bad.status).toBe('Rejected')
  })

  it('speaks the rollups node v2 JSON-RPC: hex quantities, pagination, error codes', async () => {
    // The wire as the node writes it, checked field by field, and parsed by the node API's own schemas.
    expect(await rpcWire(devnet, 'cartesi_getChainId')).toMatchObject({ data: '0x7a69' })
    const app = await rpcWire(devnet, 'cartesi_getApplication')
    expect(app).toMatchObject({ data: { iapplication_address: devnet.deployment.application.toLowerCase(), consensus_type: 'AUTHORITY', epoch_length: '0x1' } })
    expect(nodeMethods.cartesi_getApplication.result.parse(app).data.address.toLowerCase()).toBe(devnet.deployment.application.toLowerCase())
    const countWire = await rpcWire(devnet, 'cartesi_getProcessedInputCount')
    expect(countWire).toMatchObject({ data: expect.stringMatching(/^0x[0-9a-f]+$/) })
    const count = Number(nodeMethods.cartesi_getProcessedInputCount.result.parse(countWire).data)
    const page = await rpcWire(devnet, 'cartesi_listInputs', { limit: 1, offset: 1, descending: true })
    expect(page).toMatchObject({
      pagination: { total_count: count, limit: 1, offset: 1 },
      data: [{ index: toQuantity(count - 2), decoded_data: { application_contract: getAddress(devnet.deployment.application) } }],
    })
    expect(nodeMethods.cartesi_listInputs.result.parse(page).pagination).toEqual({ totalCount: count, limit: 1, offset: 1 })
    expect((await rpc(devnet, 'cartesi_listOutputs', { limit: 0 })).pagination.limit).toBe(50)
    const notices = await rpc(devnet, 'cartesi_listOutputs', { output_type: '0xc258d6e5' })
    expect(notices.data.every((o) => o.decoded.type === 'Notice')).toBe(true)

    await expect(rpcWire(devnet, 'cartesi_noSuchMethod')).rejects.toMatchObject({ code: -32601 })
    await expect(rpcWire(devnet, 'cartesi_getInput', { input_index: '12' })).rejects.toMatchObject({ code: -32602 })
    await expect(rpcWire(devnet, 'cartesi_getInput', { input_index: '0xffff' })).rejects.toMatchObject({ code: -32001, message: 'Input not found' })
    await expect(rpcWire(devnet, 'cartesi_getApplication', { application: 'someone-else' })).rejects.toMatchObject({ code: -32001 })
    const notJson = await fetch(`${devnet.nodeUrl}/rpc`, { method: 'POST', body: '{' })
    expect(notJson.status).toBe(400)
  })

  it('resumes after a dev node restart without losing or repeating an input', async () => {
    const before = (await rpc(devnet, 'cartesi_listInputs')).data.length
    const outputsBefore = (await rpc(devnet, 'cartesi_listOutputs')).pagination.totalCount
    await devnet.stopNode()
    const whileDown = await addInput(devnet, '{"attr":"hello"}')
    await devnet.startNode()
    expect((await waitForInput(devnet, whileDown)).status).toBe('ACCEPTED')
    const inputs = (await rpc(devnet, 'cartesi_listInputs')).data
    expect(inputs.map((i) => Number(i.index))).toEqual([...Array(before + 1).keys()])
    expect(inputs.every((i) => i.status !== 'NONE')).toBe(true)
    const outputs = await rpc(devnet, 'cartesi_listOutputs')
    expect(outputs.pagination.totalCount).toBe(outputsBefore + 1)
    const notice = await noticeOf(whileDown)
    const proven = await waitForProof(devnet, notice.index)
    await expect(validate(notice.rawData, notice.index, proven.siblings)).resolves.toBeUndefined()
  })
})
