/**
 * A whole local rollup on one machine: anvil with the v2.2.0 contracts, the dev node (rollup HTTP
 * API for the back end; JSON-RPC and inspect for clients), and the back end as a host process.
 * Everything it keeps lives in one directory, so a restart picks up where it stopped. One devnet
 * at a time per directory (ownership.ts); its anvil and back end die with it (children.ts), and the
 * back end talks to the node in a session of its own, so none from before a restart can finish
 * an input.
 */
import { repoRoot } from '../../dapp/lib/paths.ts'
import type { ChildProcess } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { serve, type ServerType } from '@hono/node-server'
import { createPublicClient, createWalletClient, http, type Address, type Hex, type PublicClient } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil as anvilChain } from 'viem/chains'
import { anvilPollingInterval, devAccountKey, type Anvil } from './anvil.ts'
import { hostBackend, riscv64Vm, startTiedAnvil, type BackendCommand } from './children.ts'
import { superviseBackend } from './supervise.ts'
import { deployRollups } from './deploy.ts'
import { computeTemplate, hostTemplateSystem, type TemplateSystem } from '../../image/template.ts'
import { checkTreeAgainst } from '../../image/rootfs/build.ts'
import { takeStateDir, type StateDirOwnership } from './ownership.ts'
import { defaultExecutionLimits, DevNode, type ExecutionLimits } from './node.ts'
import { rollupApi } from './rollup-api.ts'
import { nodeApi } from './rpc.ts'
import { deploymentRecord, type DeploymentRecord } from './state.ts'

export type DevnetOptions = {
  /** Where the chain, the node's state and the addresses are kept. */
  dir: string
  /** 0 picks free ports. */
  chainPort?: number
  rollupPort?: number
  nodePort?: number
  epochLength?: number
  /** Mine empty blocks to close an epoch once its inputs are processed (default true). */
  autoMine?: boolean
  /**
   * Deploy a Quorum of these validators in place of the Authority (a new chain only). The node
   * votes as the devnet's owner, which must be one of them; the others vote on their own.
   */
  quorumValidators?: Address[]
  /** The node submits claims as the devnet's owner (default true); false when a Quorum's validators vote on their own (`cartenix validator`). */
  vote?: boolean
  /** How long an inspect request waits for the back end (default 60 s; then 503). */
  inspectTimeoutMs?: number
  /**
   * What the node enforces, its deadlines above all (default: devnetExecutionLimits for the
   * machine). The back end is told the advance deadline (CARTENIX_ADVANCE_DEADLINE_MS), so that
   * its own timeouts end a build, with a notice saying so, before the node would.
   */
  executionLimits?: Partial<ExecutionLimits>
  /** Start the back end as a host process (default true). */
  backend?: boolean
  backendEnv?: NodeJS.ProcessEnv
  /** How to run the back end, when not as a host process (e.g. inside the riscv64 tree). */
  backendCommand?: BackendCommand
  /**
   * The machine the back end runs in: `host` (a process here, the default) or `riscv64` (the VM,
   * image/vm/run.ts, on the tree `npm run image` made). It also picks the template the
   * Application is deployed with.
   */
  machine?: Machine
  /** Serve the web page (web/) at the node's URL, pointed at this devnet (default false). */
  page?: boolean
  log?: (line: string) => void
}

export type Machine = 'host' | 'riscv64'

/**
 * The node's deadlines on a devnet, by machine. The real node's default, 180 s, is too short for
 * a build service: hello from scratch took 66 s natively and 103 s under load, 400 s in the riscv64
 * VM and up to 14.7 min beside other suites (docs/figures.md). The host's deadline keeps the
 * back end's build timeout at about what it always was (26 min); the VM's is three times its
 * slowest hello. A deployment on the real node sets its application's advance_max_deadline the
 * same way (docs/deadlines.md).
 */
export const devnetExecutionLimits: Record<Machine, ExecutionLimits> = {
  host: { ...defaultExecutionLimits, advanceMaxDeadlineMs: 30 * 60_000 },
  riscv64: { ...defaultExecutionLimits, advanceMaxDeadlineMs: 45 * 60_000 },
}

export { hostBackend, startBackend, type BackendCommand } from './children.ts'
export { StateDirTakenError, ownerFileName } from './ownership.ts'

export type Devnet = {
  chainUrl: string
  /** JSON-RPC at `${nodeUrl}/rpc`, inspect at `${nodeUrl}/inspect/<app>`. */
  nodeUrl: string
  /** The web page, when `page` was asked for: `${nodeUrl}/`. */
  pageUrl: string | undefined
  rollupUrl: string
  deployment: DeploymentRecord
  node: DevNode
  anvil: Anvil
  backend: ChildProcess | undefined
  /** Stops the back end, the dev node and its servers, keeping anvil (to restart the node alone). */
  stopNode: () => Promise<void>
  /** Starts them again on the same state and ports, after stopNode. */
  startNode: () => Promise<void>
  /** A viem public client on the devnet's chain. */
  publicClient: () => PublicClient
  stop: () => Promise<void>
}

export async function freePort(): Promise<number> {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function listen(app: { fetch: (request: Request) => Response | Promise<Response> }, port: number): Promise<ServerType> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => resolve(server))
  })
}

const close = (server: ServerType) => new Promise<void>((resolve) => server.close(() => resolve()))

/** Where `npm run devnet` keeps its state by default, and where the CLI finds the devnet's addresses. */
export const defaultDevnetDir = join(repoRoot, '.cartenix', 'devnet')

/** The devnet's deployment, as it records it in its directory. */
export async function readDeployment(dir: string = defaultDevnetDir): Promise<DeploymentRecord | undefined> {
  return readFile(join(dir, 'deployment.json'), 'utf8').then((text) => deploymentRecord.parse(JSON.parse(text)), () => undefined)
}

async function deploymentFor(dir: string, anvil: Anvil, epochLength: number, system: TemplateSystem, log: (line: string) => void, validators?: Address[]): Promise<DeploymentRecord> {
  const path = join(dir, 'deployment.json')
  const saved = await readDeployment(dir)
  const publicClient = createPublicClient({ chain: anvilChain, transport: http(anvil.url), pollingInterval: anvilPollingInterval })
  // The Application commits to the machine it runs: the template this checkout gives.
  const template = await computeTemplate({ system })
  if (saved && (await publicClient.getCode({ address: saved.application }))) {
    if (saved.templateHash.toLowerCase() !== template.hash.toLowerCase()) {
      log(
        `devnet: the application was deployed with template ${saved.templateHash}, but this checkout gives ${template.hash}: ` +
          'its claims now come from another machine than the one on chain, and `cartenix replay` will refuse. Delete the state directory for a new chain.',
      )
    }
    return saved
  }
  const walletClient = createWalletClient({ chain: anvilChain, transport: http(anvil.url), account: privateKeyToAccount(devAccountKey), pollingInterval: anvilPollingInterval })
  const deployed = await deployRollups(publicClient, walletClient, { epochLength: BigInt(epochLength), templateHash: template.hash, validators })
  const record: DeploymentRecord = {
    chainId: anvilChain.id,
    inputBox: deployed.inputBox,
    etherPortal: deployed.etherPortal,
    consensus: deployed.consensus,
    consensusType: deployed.consensusType,
    validators: deployed.validators,
    application: deployed.application,
    deploymentBlock: Number(deployed.deploymentBlock),
    epochLength,
    templateHash: deployed.templateHash,
  }
  await writeFile(path, `${JSON.stringify(record, null, 2)}\n`)
  log(`devnet: deployed the rollups contracts; application ${record.application}`)
  return record
}

/** The web page's routes, its config pointing at this devnet (the node is the page's own origin). */
async function devnetPage(chainUrl: string, deployment: DeploymentRecord) {
  // Imported here: building the page needs esbuild, which only a development install has.
  const [{ buildPage }, { pageRoutes }] = await Promise.all([import('../../web/build.ts'), import('../../web/serve.ts')])
  const { files } = await buildPage()
  return pageRoutes(files, { chainUrl, application: deployment.application, etherPortal: deployment.etherPortal })
}

/**
 * Starts a devnet on `options.dir`, or throws StateDirTakenError if another one holds it. What a
 * devnet that died there left running is stopped first (and logged).
 */
export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const log = options.log ?? (() => {})
  await mkdir(options.dir, { recursive: true })
  const ownership = await takeStateDir(options.dir, log)
  let anvil: Anvil | undefined
  try {
    const pick = async (port: number | undefined, fallback: number) => (port === 0 ? freePort() : (port ?? fallback))
    const ports = { chain: await pick(options.chainPort, 8545), rollup: await pick(options.rollupPort, 5004), node: await pick(options.nodePort, 10011) }
    await ownership.setPorts(ports)
    const tied = await startTiedAnvil({ port: ports.chain, statePath: join(options.dir, 'anvil-state.json') })
    anvil = tied
    if (tied.process.pid !== undefined) await ownership.addChild({ role: 'anvil', pid: tied.process.pid, command: tied.command })
    return await runDevnet(options, ownership, tied, ports, log)
  } catch (error) {
    await anvil?.stop()
    await ownership.release()
    throw error
  }
}

async function runDevnet(
  options: DevnetOptions,
  ownership: StateDirOwnership,
  anvil: Anvil,
  ports: { rollup: number; node: number },
  log: (line: string) => void,
): Promise<Devnet> {
  const system: TemplateSystem = options.machine === 'riscv64' ? 'riscv64-linux' : hostTemplateSystem()
  const backendCommand = options.backendCommand ?? (options.machine === 'riscv64' ? riscv64Vm : undefined)
  if (options.machine === 'riscv64' && !options.backendCommand) await checkTreeAgainst(await computeTemplate({ system }))
  const deployment = await deploymentFor(options.dir, anvil, options.epochLength ?? 1, system, log, options.quorumValidators)
  const rollupPort = ports.rollup
  const nodePort = ports.node
  const ownBackend = options.backend ?? true
  const page = options.page ? await devnetPage(anvil.url, deployment) : undefined
  const executionLimits: ExecutionLimits = { ...devnetExecutionLimits[options.machine ?? 'host'], ...options.executionLimits }

  let node: DevNode
  let servers: ServerType[] = []
  const rollupUrl = `http://127.0.0.1:${rollupPort}`
  const command = backendCommand ?? hostBackend
  // A back end keeps its state beside the node's, so a back end that the devnet restarts (or a
  // restarted devnet) has what the chain has seen it accept: the host's its results and uploads,
  // the VM its whole disk (its back end keeps them inside). A chroot could see neither path.
  const stateDir =
    command === hostBackend
      ? { CARTENIX_STATE_DIR: join(options.dir, 'backend-state') }
      : command === riscv64Vm
        ? { CARTENIX_VM_DIR: join(options.dir, 'vm') }
        : {}
  const told = { CARTENIX_ADVANCE_DEADLINE_MS: String(executionLimits.advanceMaxDeadlineMs) }
  // The back end runs in a session of its own and is watched (supervise.ts); the owner file
  // records each one, so that a devnet started after this one dies can stop it.
  const backends = superviseBackend({
    node: () => node,
    rollupUrl,
    env: { CARTENIX_ETHER_PORTAL: deployment.etherPortal, ...told, ...stateDir, ...options.backendEnv },
    command,
    log,
    label: 'devnet',
    started: (child, url) => ownership.track(child, { role: 'backend', command: [command.file, ...command.args].join(' '), rollupUrl: url }),
  })
  const startNode = async () => {
    node = await DevNode.open({
      statePath: join(options.dir, 'node-state.json'),
      chainUrl: anvil.url,
      ownerKey: devAccountKey as Hex,
      deployment,
      autoMine: options.autoMine,
      vote: options.vote,
      inspectTimeoutMs: options.inspectTimeoutMs,
      executionLimits,
      onSessionExpired: (session) => backends.expire(session),
      bareUrl: !ownBackend,
      log,
    })
    const api = nodeApi(node)
    if (page) api.route('/', page)
    servers = [await listen(rollupApi(node), rollupPort), await listen(api, nodePort)]
    node.start()
    if (ownBackend) await backends.start()
  }
  const stopNode = async () => {
    // Stopping keeps the input in flight unsettled: the next node serves it again.
    await backends.stop()
    await node.stop()
    await Promise.all(servers.map(close))
  }
  await startNode()
  const devnet: Devnet = {
    chainUrl: anvil.url,
    nodeUrl: `http://127.0.0.1:${nodePort}`,
    pageUrl: page ? `http://127.0.0.1:${nodePort}/` : undefined,
    rollupUrl,
    deployment,
    get node() {
      return node
    },
    anvil,
    get backend() {
      return backends.child
    },
    stopNode,
    startNode,
    publicClient: () => createPublicClient({ chain: anvilChain, transport: http(anvil.url), pollingInterval: anvilPollingInterval }),
    stop: async () => {
      try {
        await stopNode()
        await anvil.stop()
      } finally {
        await ownership.release()
      }
    },
  }
  return devnet
}
