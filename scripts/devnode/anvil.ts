/** A local chain: anvil from the npm package @foundry-rs/anvil-linux-amd64, on loopback. */
import type { ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** anvil's first well-known development account: owner of the contracts, submitter of claims. */
export const devAccountKey = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80' as const

/**
 * anvil's second development account: the one users (start, the CLI, tests) send requests
 * from, so that their transactions never race the node's claims for the same nonce.
 */
export const devUserKey = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' as const

/**
 * anvil's development accounts 2 and 3 (from its well-known mnemonic), for parties that sign
 * besides the owner and the user: a Quorum's other validators.
 */
export const devValidatorKeys = [
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
] as const

/** anvil mines a block per transaction at once; viem's default 4 s receipt polling would idle. */
export const anvilPollingInterval = 100

export type Anvil = { url: string; port: number; process: ChildProcess; stop: () => Promise<void> }

export function anvilBinary(): string {
  const require = createRequire(import.meta.url)
  try {
    return join(dirname(require.resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil')
  } catch (cause) {
    throw new Error('anvil is not installed: run `npm ci` (the binary comes from @foundry-rs/anvil-linux-amd64, Linux x64 only)', { cause })
  }
}
