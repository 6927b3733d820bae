/** Test harness: a real devnet (anvil, contracts, dev node, back end) in a temporary directory. */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, createWalletClient, http, parseEventLogs, toHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import type * as z from 'zod'
import { inputBoxAbi } from '../../contracts-client/abi/rollups.ts'
import { nodeMethods, rpcAnswer, type NodeMethod, type NodeParams, type NodeResult } from '../../dapp/protocol/nodeApi.ts'
import { decodeReport } from '../../dapp/protocol/reports.ts'
import { anvilPollingInterval, devUserKey } from '../../scripts/devnode/anvil.ts'
import type { Devnet, DevnetOptions } from '../../scripts/devnode/devnet.ts'
import { startDevnetOn, type ConsensusOptions, type DevnetWithValidators } from '../../scripts/validator/devnet.ts'

/** A devnet on free ports in a temporary directory; `consensus: 'quorum'` runs its validators too. */
export async function startTestDevnet(options: Partial<DevnetOptions> & ConsensusOptions = {}): Promise<DevnetWithValidators> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'cartenix-devnet-')))
  return startDevnetOn({ chainPort: 0, rollupPort: 0, nodePort: 0, ...options, dir })
}

export function clients(devnet: Devnet) {
  const transport = http(devnet.chainUrl)
  return {
    publicClient: createPublicClient({ chain: anvil, transport, pollingInterval: anvilPollingInterval }),
    walletClient: createWalletClient({ chain: anvil, transport, account: privateKeyToAccount(devUserKey), pollingInterval: anvilPollingInterval }),
  }
}

/** Sends a payload (text is UTF-8 encoded) through InputBox.addInput; returns the input index. */
export async function addInput(devnet: Devnet, payload: string | { hex: Hex }): Promise<number> {
  const { publicClient, walletClient } = clients(devnet)
  const hash = await walletClient.writeContract({
    address: devnet.deployment.inputBox,
    abi: inputBoxAbi,
    functionName: 'addInput',
    args: [devnet.deployment.application, typeof payload === 'string' ? toHex(payload) : payload.hex],
  })
  const receipt = await publicClient.waitForTransactionReceipt({ hash })
  const [event] = parseEventLogs({ abi: inputBoxAbi, logs: receipt.logs, eventName: 'InputAdded' })
  if (!event) throw new Error(`addInput transaction ${hash} emitted no InputAdded event`)
  return Number(event.args.index)
}

/** One JSON-RPC call of the dev node about this devnet's application: the raw result, or an Error with the node's `code`. */
async function call(devnet: Devnet, method: string, params: Record<string, unknown>): Promise<unknown> {
  const response = await fetch(`${devnet.nodeUrl}/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { application: devnet.deployment.application, ...params } }),
  })
  const body = rpcAnswer.parse(await response.json())
  if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code })
  return body.result
}

/** nodeMethods, through a mapped type: indexed by a method's name, it gives that method's result type. */
const resultSchemas: { [K in NodeMethod]: { result: z.ZodType<NodeResult<K>> } } = nodeMethods

/** A method of the node API, its result parsed by the method's own schema (dapp/protocol/nodeApi.ts): camelCase, bigints. */
export async function rpc<M extends NodeMethod>(devnet: Devnet, method: M, params?: Omit<NodeParams<M>, 'application'>): Promise<NodeResult<M>> {
  return resultSchemas[method].result.parse(await call(devnet, method, { ...params }))
}

/** The result as the node wrote it, for the tests of the wire itself: any method, any params, nothing parsed. */
export const rpcWire = (devnet: Devnet, method: string, params: Record<string, unknown> = {}): Promise<unknown> => call(devnet, method, params)

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** Waits until the input is processed and returns its JSON-RPC record. */
export function waitForInput(devnet: Devnet, index: number) {
  return waitFor(`input ${index}`, async () => {
    const { data } = await rpc(devnet, 'cartesi_getInput', { input_index: toHex(index) }).catch(() => ({ data: undefined }))
    return data && data.status !== 'NONE' ? data : undefined
  })
}

/** Waits until the output's epoch claim is accepted; returns the output with its 63 siblings. */
export function waitForProof(devnet: Devnet, outputIndex: number) {
  return waitFor(`the proof of output ${outputIndex}`, async () => {
    const { data } = await rpc(devnet, 'cartesi_getOutput', { output_index: toHex(outputIndex) })
    const siblings = data.siblings
    if (!siblings) return undefined
    const { data: epoch } = await rpc(devnet, 'cartesi_getEpoch', { epoch_index: toHex(data.epochIndex) })
    return epoch.status === 'CLAIM_ACCEPTED' ? { ...data, siblings } : undefined
  })
}

/** An input's reports, each as the typed report it is (dapp/protocol/reports.ts); undefined for one that is none. */
export const reportsOf = async (devnet: Devnet, inputIndex: number) =>
  (await rpc(devnet, 'cartesi_listReports', { input_index: toHex(inputIndex) })).data.map((r) => decodeReport(r.payload).report)
