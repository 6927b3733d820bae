/**
 * The flags every on-chain command shares, with defaults that fit the local devnet: the chain at
 * 127.0.0.1:8545, the node at 127.0.0.1:10011, the addresses the devnet recorded, anvil's second
 * development key. The key is never printed.
 */
import { createPublicClient, createWalletClient, http, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { createNodeClient } from '../../contracts-client/node/client.ts'
import { UsageError } from './usage.ts'
import { CartenixError } from '../../dapp/lib/errors.ts'
import { address } from '../../dapp/protocol/primitives.ts'
import { devUserKey } from '../devnode/anvil.ts'
import { readDeployment } from '../devnode/devnet.ts'

export const connectionOptions = {
  'rpc-url': { type: 'string' },
  'node-url': { type: 'string' },
  application: { type: 'string' },
  'input-box': { type: 'string' },
  'ether-portal': { type: 'string' },
  'private-key': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const

export const connectionUsage = `connection (defaults fit \`npm run devnet\`):
  --rpc-url URL        chain JSON-RPC              (default http://127.0.0.1:8545, or CARTENIX_RPC_URL)
  --node-url URL       rollups node, /rpc appended (default http://127.0.0.1:10011, or CARTENIX_NODE_URL)
  --application ADDR   the Cartenix application    (default: .cartenix/devnet/deployment.json, or
                       CARTENIX_DEVNET_DIR's for a devnet in another directory)
  --input-box ADDR, --ether-portal ADDR            (default: the devnet's)
  --private-key KEY    signer for transactions     (default: CARTENIX_PRIVATE_KEY, else anvil's second key)
  --json               one JSON object on stdout`


export type Connection = Awaited<ReturnType<typeof connect>>

/**
 * The EtherPortal, for a command that re-executes the inputs (replay, a validator): the back end
 * reads an input from the portal as a deposit with a request, so re-executed without knowing it,
 * such an input gives another root, and an honest claim would look false.
 */
export function portalForReexecution(connection: Connection): Address {
  try {
    return connection.etherPortal()
  } catch {
    throw new UsageError("re-executing the inputs as the application's back end does needs its EtherPortal: pass --ether-portal ADDR, the one its back end was set up with (a devnet's is in its deployment.json); read without it, a deposit's input would give another root")
  }
}

export async function connect(values: { [K in keyof typeof connectionOptions]?: string | boolean }) {
  // A devnet in another directory (`npm run devnet -- --dir DIR`) is named by CARTENIX_DEVNET_DIR.
  const saved = await readDeployment(process.env.CARTENIX_DEVNET_DIR || undefined)
  const pick = (flag: string | boolean | undefined, fallback: string | undefined, what: string): Address => {
    const value = typeof flag === 'string' ? flag : fallback
    if (!value) throw new UsageError(`no ${what}: pass --${what} (or start the devnet, which records it)`)
    if (!address.safeParse(value).success) throw new UsageError(`--${what} must be an address, 0x and 40 hex digits`)
    return value as Address
  }
  const rpcUrl = (typeof values['rpc-url'] === 'string' ? values['rpc-url'] : undefined) ?? process.env.CARTENIX_RPC_URL ?? 'http://127.0.0.1:8545'
  const nodeUrl = ((typeof values['node-url'] === 'string' ? values['node-url'] : undefined) ?? process.env.CARTENIX_NODE_URL ?? 'http://127.0.0.1:10011').replace(/\/$/, '')
  const key = (typeof values['private-key'] === 'string' ? values['private-key'] : undefined) ?? process.env.CARTENIX_PRIVATE_KEY ?? devUserKey
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new UsageError('--private-key must be 0x and 64 hex digits')
  const publicClient = createPublicClient({ transport: http(rpcUrl) })
  const chainId = await publicClient.getChainId().catch((cause: unknown) => {
    throw new CartenixError(`Cannot reach the chain at ${rpcUrl}: is the devnet running (npm run devnet)?`, { cause })
  })
  // A local chain mines at once: poll receipts often. Elsewhere viem's default (4 s) fits block times.
  const pollingInterval = chainId === 31337 ? 100 : undefined
  const chain = { id: chainId, name: `chain ${chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } }
  return {
    rpcUrl,
    nodeUrl,
    application: pick(values.application, saved?.application, 'application'),
    inputBox: () => pick(values['input-box'], saved?.inputBox, 'input-box'),
    etherPortal: () => pick(values['ether-portal'], saved?.etherPortal, 'ether-portal'),
    publicClient: createPublicClient({ chain, transport: http(rpcUrl), pollingInterval }),
    walletClient: createWalletClient({ chain, transport: http(rpcUrl), account: privateKeyToAccount(key as Hex), pollingInterval }),
    node: createNodeClient({ url: `${nodeUrl}/rpc` }),
  }
}
