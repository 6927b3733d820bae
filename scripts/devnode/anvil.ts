/** A local chain: anvil from the npm package @foundry-rs/anvil-linux-amd64, on loopback. */
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** anvil's first well-known development account: owner of the contracts, submitter of claims. */
export const devAccountKey = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80' as const

/**
 * anvil's second development account: the one users (start, the CLI, tests) send requests
 * from, so that their transactions never race the node's claims for the same nonce.
 */
export const devUserKey = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' as const

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

/**
 * Starts anvil and resolves once it answers JSON-RPC. With `statePath`, anvil loads the chain from
 * that file if it exists and writes it back on exit, so a restarted devnet keeps its contracts.
 */
export async function startAnvil(options: { port?: number; statePath?: string; chainId?: number } = {}): Promise<Anvil> {
  const port = options.port ?? 8545
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(options.chainId ?? 31337), '--silent']
  if (options.statePath) args.push('--state', options.statePath)
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}: ${stderr.trim()}`)
    const ready = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    }).then((r) => r.ok, () => false)
    if (ready) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`anvil did not answer on ${url} within 15 s: ${stderr.trim()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
  return { url, port, process: child, stop }
}
