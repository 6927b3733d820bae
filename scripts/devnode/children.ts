/**
 * The processes a devnet starts: anvil and the back end. Each runs in a process group of its own
 * and is tied to the devnet (see spawnTied): when the devnet dies, even by SIGKILL, the kernel
 * stops them too, so that no orphan keeps the chain's port or goes on answering the rollup API.
 */
import { type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { repoRoot } from '../../dapp/lib/paths.ts'
import { anvilBinary, type Anvil } from './anvil.ts'
import { spawnTied } from '../../image/host/processes.ts'

/** A program and its arguments that run the back end; the environment is added to the caller's. */
export type BackendCommand = { file: string; args: string[] }

export const hostBackend: BackendCommand = { file: process.execPath, args: ['--import', 'tsx', join(repoRoot, 'dapp/main.ts')] }

/** The riscv64 machine as a VM (image/vm/run.ts), run in place of a back end process. */
export const riscv64Vm: BackendCommand = { file: process.execPath, args: ['--import', 'tsx', join(repoRoot, 'image/vm/run.ts')] }

/**
 * Starts the back end on `rollupUrl`. The kernel kills it (SIGKILL) if this process dies; what it
 * started itself (nix-store, a build) is in its process group, for whoever cleans up after.
 */
export function startBackend(
  rollupUrl: string,
  env: NodeJS.ProcessEnv = {},
  log: (line: string) => void = () => {},
  command: BackendCommand = hostBackend,
): ChildProcess {
  const child = spawnTied(command.file, command.args, {
    cwd: repoRoot,
    env: { ...process.env, ...env, ROLLUP_HTTP_SERVER_URL: rollupUrl },
    stdio: ['ignore', 'inherit', 'pipe'],
    deathSignal: 'KILL',
  })
  child.once('error', (error) => log(`devnet: could not start the back end (${command.file}): ${error.message}`))
  child.stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) log(line)
  })
  return child
}

/**
 * anvil on loopback, tied to this process: it gets SIGTERM when the devnet
 * dies, which lets it write the chain to `statePath` before it exits, so a restart resumes the
 * same chain. Resolves once anvil answers JSON-RPC.
 */
export async function startTiedAnvil(options: { port: number; statePath: string; chainId?: number }): Promise<Anvil & { command: string }> {
  const { port } = options
  const url = `http://127.0.0.1:${port}`
  // Readiness is a JSON-RPC answer on the port: it must not come from some other anvil already there.
  if (await answers(url)) throw new Error(`Something already answers JSON-RPC on ${url} (another anvil?): stop it or choose another port`)
  const file = anvilBinary()
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(options.chainId ?? 31337), '--silent', '--state', options.statePath]
  const child = spawnTied(file, args, { stdio: ['ignore', 'ignore', 'pipe'], deathSignal: 'TERM' })
  let stderr = ''
  let failed: Error | undefined
  child.once('error', (error) => (failed = error))
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const deadline = Date.now() + 15_000
  for (;;) {
    if (failed) throw new Error(`anvil could not be started through setpriv (util-linux): ${failed.message}`, { cause: failed })
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}: ${stderr.trim()}`)
    if (await answers(url)) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`anvil did not answer on ${url} within 15 s: ${stderr.trim()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
  return { url, port, process: child, stop, command: [file, ...args].join(' ') }
}

const answers = (url: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
  }).then((r) => r.ok, () => false)
