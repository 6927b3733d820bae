/**
 * A throwaway devnet for the bench: the project's own devnet (on an Authority, or on a Quorum with
 * its validators) on free loopback ports, in a temporary directory that is removed afterwards,
 * plus the clients the bench talks through.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createWalletClient, http, type Account, type Chain, type Transport, type WalletClient } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import {
  createNodeClient, requestBuild, waitForResult,
  type BuildRequestInput, type NodeClient, type RequestBuildReturnType, type WaitForResultReturnType,
} from '../../contracts-client/index.ts'
import { anvilPollingInterval } from '../devnode/anvil.ts'
import type { Machine } from '../devnode/devnet.ts'
import { startDevnetOn, type ConsensusOptions, type DevnetWithValidators } from '../validator/devnet.ts'

export type BenchChain = {
  devnet: DevnetWithValidators
  wallet: WalletClient<Transport, Chain, Account>
  node: NodeClient
  /** InputBox.addInput through the client library; resolves once the receipt is back. */
  send: (request: BuildRequestInput) => Promise<RequestBuildReturnType>
  /** Follows an input to its notice (waitForResult); InputNotAcceptedError if it was rejected. */
  result: (inputIndex: bigint, options: { pollIntervalMs: number; timeoutMs: number }) => Promise<WaitForResultReturnType>
  /** The devnet's last log lines (dev node and back end), to explain a failure. */
  backendLog: () => string[]
  stop: () => Promise<void>
}

const keptLogLines = 40

/**
 * Requests come from anvil's second development account (its default mnemonic, index 1, funded
 * at start). The first one is the Authority's owner, which the dev node uses to submit claims:
 * sending from it too races the node for nonces ("nonce lower than the current nonce").
 */
const anvilMnemonic = 'test test test test test test test test test test test junk'
const requester = mnemonicToAccount(anvilMnemonic, { addressIndex: 1 })

export type BenchChainOptions = {
  backend: boolean
  /** The machine the back end runs in (default: a host process). */
  machine?: Machine
  backendEnv?: NodeJS.ProcessEnv
  /** Sees every log line of the devnet as it comes (the bench times some of them). */
  onLog?: (line: string) => void
} & ConsensusOptions

export async function startBenchChain(options: BenchChainOptions): Promise<BenchChain> {
  const dir = await mkdtemp(join(tmpdir(), 'cartenix-bench-'))
  const lines: string[] = []
  const log = (line: string) => {
    options.onLog?.(line)
    lines.push(line)
    if (lines.length > keptLogLines) lines.shift()
  }
  let devnet: DevnetWithValidators
  try {
    const { onLog: _onLog, ...devnetOptions } = options
    devnet = await startDevnetOn({ ...devnetOptions, dir, chainPort: 0, rollupPort: 0, nodePort: 0, log })
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  // The project's polling interval for local chains: anvil mines at once, viem's 4 s default would idle.
  const wallet = createWalletClient({ chain: anvil, transport: http(devnet.chainUrl), account: requester, pollingInterval: anvilPollingInterval })
  const { application, inputBox } = devnet.deployment
  const node = createNodeClient({ url: `${devnet.nodeUrl}/rpc` })
  return {
    devnet,
    wallet,
    node,
    send: (request) => requestBuild(wallet, { application, inputBox, request }),
    result: (inputIndex, options) => waitForResult(node, { application, inputIndex, ...options }),
    backendLog: () => [...lines],
    stop: async () => {
      await devnet.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
