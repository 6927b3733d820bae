/**
 * Everything the page talks to, set up once: the chain (read through its JSON-RPC, written
 * through the signer), the rollups node, and the application's addresses and template hash, which
 * are read from the chain itself where the chain knows them.
 */
import { createClient, custom, http, type Account, type Address, type Chain, type Client, type EIP1193Provider, type Hex, type Transport } from 'viem'
import { getAddresses, getChainId, readContract, requestAddresses, switchChain } from 'viem/actions'
import { applicationAbi, createNodeClient, getApplication, listApplications, readConsensus, type ConsensusFacts, type NodeClient } from '../../contracts-client/index.ts'
import type { Settings } from './settings.ts'

declare global {
  interface Window {
    ethereum?: EIP1193Provider
  }
}

/*
 * Bare viem clients with the actions imported one by one: createPublicClient and createWalletClient
 * would bundle every action viem has (about 90 kB of the page).
 */

/** anvil's chain id: only there does the page offer anvil's unlocked development account. */
const devnetChainId = 31337

export type Signer = {
  walletClient: Client<Transport, Chain, Account>
  address: Address
  /** `injected`: the browser's wallet; `devnet`: anvil's development account, unlocked on the chain itself. */
  kind: 'injected' | 'devnet'
}

export type Connection = {
  settings: Settings
  chain: Chain
  publicClient: Client<Transport, Chain>
  node: NodeClient
  application: Address
  applicationName: string
  inputBox: Address
  epochLength: bigint
  templateHash: Hex
  /** The Authority, or the Quorum and its validators, as the chain says. */
  consensus: ConsensusFacts
  signer: Signer | undefined
}

export async function connect(settings: Settings): Promise<Connection> {
  const chainId = await getChainId(createClient({ transport: http(settings.chainUrl) }))
  const chain: Chain = {
    id: chainId,
    name: chainId === devnetChainId ? 'anvil (devnet)' : `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [settings.chainUrl] } },
  }
  // anvil mines at once: poll receipts often. Elsewhere viem's default fits block times.
  const pollingInterval = chainId === devnetChainId ? 100 : undefined
  const publicClient = createClient({ chain, transport: http(settings.chainUrl), pollingInterval })
  const node = createNodeClient({ url: `${settings.nodeUrl}/rpc` })
  const named = settings.application ?? (await firstApplication(node))
  const application = await getApplication(node, { application: named })
  if (!application.inputBox) throw new Error(`The node does not say which InputBox application ${application.address} reads`)
  const [templateHash, consensus] = await Promise.all([
    readContract(publicClient, { address: application.address, abi: applicationAbi, functionName: 'getTemplateHash' }),
    readConsensus(publicClient, { application: application.address }),
  ])
  const connection: Connection = {
    settings,
    chain,
    publicClient,
    node,
    application: application.address,
    applicationName: application.name,
    inputBox: application.inputBox,
    epochLength: application.epochLength,
    templateHash,
    consensus,
    signer: undefined,
  }
  if (!window.ethereum) connection.signer = await devnetSigner(connection, pollingInterval)
  return connection
}

async function firstApplication(node: NodeClient): Promise<string> {
  const { applications } = await listApplications(node, { limit: 1 })
  const first = applications[0]
  if (!first) throw new Error(`The node at ${node.url} runs no application`)
  return first.address
}

/** anvil's second development account (the first submits the devnet's claims), as the CLI uses. */
async function devnetSigner(connection: Connection, pollingInterval: number | undefined): Promise<Signer | undefined> {
  if (connection.chain.id !== devnetChainId) return undefined
  const transport = http(connection.settings.chainUrl)
  const accounts = await getAddresses(createClient({ chain: connection.chain, transport })).catch(() => [])
  const address = accounts[1] ?? accounts[0]
  if (!address) return undefined
  const walletClient = createClient({ chain: connection.chain, transport, account: address, pollingInterval })
  return { walletClient, address, kind: 'devnet' }
}

/** Asks the browser's wallet for an account and for the page's chain. */
export async function connectInjected(connection: Connection): Promise<Signer> {
  const provider = window.ethereum
  if (!provider) throw new Error('This browser has no wallet (no window.ethereum)')
  const bare = createClient({ chain: connection.chain, transport: custom(provider) })
  const [address] = await requestAddresses(bare)
  if (!address) throw new Error('The wallet gave no account')
  if ((await getChainId(bare)) !== connection.chain.id) await switchChain(bare, { id: connection.chain.id })
  const walletClient = createClient({ chain: connection.chain, transport: custom(provider), account: address })
  return { walletClient, address, kind: 'injected' }
}
