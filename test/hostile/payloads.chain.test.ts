/**
 * Hostile payloads through the real rollup: InputBox.addInput on a real anvil → dev node → the real
 * back end (a host process). Each malformed input must end REJECTED with one report
 * {"type":"rejected","reason":…} that says why, and no output; the back end must survive all of
 * them, and a valid request sent afterwards must still build.
 *
 * Hundreds of generated cases go through the handler in-process (payloads.handler.test.ts); here
 * a dozen representative ones take the whole way.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BaseError, ContractFunctionRevertedError, bytesToHex, toHex, type Hex } from 'viem'
import { inputBoxAbi } from '../../contracts-client/abi/rollups.ts'
import { decodeBuildResult } from '../../dapp/protocol/buildResult.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { addInput, clients, reportsOf, rpc, startTestDevnet, waitForInput } from '../harness/devnet.ts'

/** The largest payload InputBox.addInput takes: the EvmAdvance encoding may not pass 65 536 bytes. */
const maxPayloadBytes = 65_216

let devnet: Devnet
let tried = 0
let asExpected = 0
beforeAll(async () => {
  devnet = await startTestDevnet()
})
afterAll(async () => {
  await devnet?.stop()
  console.log(`hostile payloads (through the chain): ${tried} tried, ${asExpected} ended as expected (rejected with a reason, or refused by InputBox)`)
})

const text = (s: string) => ({ hex: toHex(s) })
const nested = (depth: number, open: string, close: string, inner = '') => open.repeat(depth) + inner + close.repeat(depth)
const sizeOf = (payload: { hex: Hex }) => (payload.hex.length - 2) / 2

/** Twelve representative malformed requests, each with what its reason must say. */
const hostile: { name: string; payload: { hex: Hex }; reason: RegExp }[] = [
  { name: 'an empty payload', payload: { hex: '0x' }, reason: /^payload is empty; expected a JSON build request$/ },
  {
    name: '1 KiB of random bytes',
    payload: { hex: bytesToHex(Uint8Array.from([0xff, ...randomBytes(1023)])) },
    reason: /^payload is not valid UTF-8$/,
  },
  {
    name: 'a valid request with an overlong UTF-8 encoding inside',
    payload: { hex: `${toHex('{"attr":"hel')}c080${toHex('lo"}').slice(2)}` as Hex },
    reason: /^payload is not valid UTF-8$/,
  },
  { name: 'a JSON array', payload: text('["hello"]'), reason: /^not a build request: Invalid input: expected object, received array$/ },
  { name: 'a JSON string', payload: text('"hello"'), reason: /^not a build request: Invalid input: expected object, received string$/ },
  { name: 'a JSON number', payload: text('42'), reason: /^not a build request: Invalid input: expected object, received number$/ },
  { name: 'JSON null', payload: text('null'), reason: /^not a build request: Invalid input: expected object, received null$/ },
  { name: 'an unknown field', payload: text('{"attr":"hello","priority":"high"}'), reason: /^not a build request: Unrecognized key: "priority"$/ },
  { name: 'attr of the wrong type', payload: text('{"attr":["hello"]}'), reason: /^not a build request: attr: Invalid input: expected string, received array$/ },
  {
    name: 'a callback that is not an address',
    payload: text('{"attr":"hello","callback":"0x1234"}'),
    reason: /^not a build request: callback: a contract address, 0x and 40 hex digits$/,
  },
  {
    name: `${maxPayloadBytes / 2} nested arrays (the whole ${maxPayloadBytes}-byte payload)`,
    payload: text(nested(maxPayloadBytes / 2, '[', ']')),
    reason: /^not a build request: Invalid input: expected object, received array$/,
  },
  {
    name: 'deeply nested objects as attr',
    payload: text(`{"attr":${nested(Math.floor((maxPayloadBytes - 10) / 9), '{"attr":', '}', '0')}}`),
    reason: /^not a build request: attr: Invalid input: expected string, received object$/,
  },
  {
    name: `an expr filling the largest payload InputBox takes (${maxPayloadBytes} bytes, expr is capped at 32 768 characters)`,
    payload: text(`{"expr":"${'x'.repeat(maxPayloadBytes - '{"expr":""}'.length)}"}`),
    reason: /^not a build request: expr: Too big: expected string to have <=32768 characters$/,
  },
]

describe('hostile payloads through InputBox, the dev node and the back end', () => {
  it('refuses a payload one byte over the largest InputBox takes, before any input exists', async () => {
    tried++
    const { publicClient, walletClient } = clients(devnet)
    const countBefore = await publicClient.readContract({ address: devnet.deployment.inputBox, abi: inputBoxAbi, functionName: 'getNumberOfInputs', args: [devnet.deployment.application] })
    const send = (bytes: number) =>
      publicClient.simulateContract({
        address: devnet.deployment.inputBox,
        abi: inputBoxAbi,
        functionName: 'addInput',
        args: [devnet.deployment.application, toHex(new Uint8Array(bytes).fill(0x5b))],
        account: walletClient.account,
      })
    await expect(send(maxPayloadBytes)).resolves.toBeDefined()
    const error = await send(maxPayloadBytes + 1).catch((e: unknown) => e)
    const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined
    expect(reverted).toBeInstanceOf(ContractFunctionRevertedError)
    expect((reverted as ContractFunctionRevertedError).data?.errorName).toBe('InputTooLarge')
    expect((reverted as ContractFunctionRevertedError).data?.args?.slice(1)).toEqual([65_540n, 65_536n])
    const countAfter = await publicClient.readContract({ address: devnet.deployment.inputBox, abi: inputBoxAbi, functionName: 'getNumberOfInputs', args: [devnet.deployment.application] })
    expect(countAfter).toBe(countBefore)
    asExpected++
  })

  it('rejects each malformed input with one report that says why, and no output', async () => {
    for (const { payload } of hostile) expect(sizeOf(payload)).toBeLessThanOrEqual(maxPayloadBytes)
    // Sent all at once: the dev node serves them to the back end one after the other.
    const indices: number[] = []
    for (const { payload } of hostile) indices.push(await addInput(devnet, payload))
    for (const [i, { name, reason }] of hostile.entries()) {
      tried++
      const index = indices[i] ?? -1
      const input = await waitForInput(devnet, index)
      expect(input.status, name).toBe('REJECTED')
      const reports = await reportsOf(devnet, index)
      expect(reports, name).toHaveLength(1)
      expect(reports[0], name).toEqual({ type: 'rejected', reason: expect.stringMatching(reason) })
      const { data: outputs } = await rpc(devnet, 'cartesi_listOutputs', { input_index: toHex(index) })
      expect(outputs, name).toEqual([])
      asExpected++
    }
    expect(devnet.backend?.exitCode, 'the back end is still running').toBeNull()
  })

  it('still builds a valid request afterwards', async () => {
    const payload = '{"attr":"hello"}'
    const index = await addInput(devnet, payload)
    const input = await waitForInput(devnet, index)
    expect(input.status).toBe('ACCEPTED')
    const { data } = await rpc(devnet, 'cartesi_listOutputs', { input_index: toHex(index) })
    const notices = data.filter((o) => o.decoded.type === 'Notice')
    expect(notices).toHaveLength(1)
    const result = decodeBuildResult(notices[0]?.decoded.payload ?? '0x')
    expect(result).toMatchObject({ success: true, inputIndex: BigInt(index) })
    expect(result.drvPath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-hello-2\.10\.drv$/)
    expect((await reportsOf(devnet, index)).map((r) => r?.type)).toEqual(['built'])
    expect(devnet.backend?.exitCode).toBeNull()
  })
})
