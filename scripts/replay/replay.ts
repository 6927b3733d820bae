/**
 * The disputer's side: re-executes an application's inputs, trusting only the chain and the
 * checkout's locks, and compares each claimed outputs root with the one the inputs really give.
 *
 * It rebuilds the machine template from the checkout and refuses to start unless the Application
 * was deployed with it. It then runs the same back end bytes the template hashed (the esbuild
 * bundle) against a Nix store and a node state of its own, in a scratch directory: the dev node's
 * input loop, in an observer mode that never mines and never claims, serves it the inputs from
 * InputAdded events in order, keeps the outputs Merkle tree, and drops what a rejected or
 * excepted input emitted, as the node does. The root after the last input of a claimed epoch is
 * what that claim should have said.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { serve, type ServerType } from '@hono/node-server'
import { keccak256, type Address, type Hex, type PublicClient } from 'viem'
import { CartenixError } from '../../dapp/lib/errors.ts'
import { repoRoot } from '../../dapp/lib/paths.ts'
import { bundleBackend, computeTemplate, type Template, type TemplateSystem } from '../../image/template.ts'
import { devAccountKey } from '../devnode/anvil.ts'
import { devnetExecutionLimits, freePort } from '../devnode/devnet.ts'
import { superviseBackend } from '../devnode/supervise.ts'
import { riscv64Vm, type BackendCommand } from '../devnode/children.ts'
import { checkTreeAgainst } from '../../image/rootfs/build.ts'
import { OutputsMerkleTree } from '../devnode/merkle.ts'
import { DevNode } from '../devnode/node.ts'
import { rollupApi } from '../devnode/rollup-api.ts'
import { saveState, type InputStatus, type NodeState } from '../devnode/state.ts'
import { exec } from '../../dapp/lib/exec.ts'
import { deploymentOf, readApplication, readClaims, readInputs, type ApplicationFacts, type ChainInput, type Claim } from './chain.ts'

/** The Application was deployed with another template than the one this checkout gives. */
export class TemplateMismatchError extends CartenixError {
  override name = 'TemplateMismatchError' as const
  constructor(args: { onChain: Hex; local: Template }) {
    super(
      `The application's template hash is ${args.onChain}, but this checkout gives ${args.local.hash} ` +
        `(${args.local.system}; see \`cartenix template\`). Replay or a validator would not run the machine the claims speak of: ` +
        'check out the commit the application was deployed from.',
    )
  }
}

/** The outputs the node gave for the epochs before --from-epoch do not make the root claimed for them. */
export class UntrustedPrefixError extends CartenixError {
  override name = 'UntrustedPrefixError' as const
}

export type ReplayOptions = {
  publicClient: PublicClient
  /** The chain's JSON-RPC URL, for the observing node. */
  chainUrl: string
  application: Address
  /** The EtherPortal whose inputs carry sender and value before the request (the back end strips them). */
  etherPortal?: Address
  system: TemplateSystem
  /** The checkout whose template and back end are replayed (default: this one). */
  root?: string
  /**
   * Check claims from this epoch on. Execution starts after the last accepted claim before it:
   * the outputs up to there are taken from a node (`earlierOutputs`, every output it has, in
   * order) and used only if they make the root the chain accepted for that claim.
   */
  fromEpoch?: number
  earlierOutputs?: () => Promise<{ inputIndex: number; rawData: Hex }[]>
  /** Scratch directory for the store, the node state and the bundle (default: a new temporary one, removed after). */
  workDir?: string
  onProgress?: (event: ReplayProgress) => void
  log?: (line: string) => void
}

export type ReplayProgress =
  | { kind: 'setup'; message: string }
  | { kind: 'input'; index: number; done: number; total: number; status: InputStatus; ms: number }

export type EpochVerdict = {
  epoch: number
  lastBlock: number
  inputs: number[]
  claimed: Hex
  replayed: Hex
  agrees: boolean
  accepted: boolean
  submitter: Address
}

export type ReplayReport = {
  application: Address
  template: { hash: Hex; system: TemplateSystem }
  fromEpoch: number
  epochs: EpochVerdict[]
  inputs: { index: number; epoch: number; status: InputStatus; ms: number }[]
  agrees: boolean
  ms: number
}

const listen = (app: { fetch: (request: Request) => Response | Promise<Response> }, port: number) =>
  new Promise<ServerType>((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => resolve(server))
  })

/** Makes the scratch store: the locked sources and the seed, as `npm run setup` does for the host. */
async function prepareStore(root: string, store: string): Promise<void> {
  await exec(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'setup.ts')], { cwd: root, env: { ...process.env, NIX_REMOTE: store } })
}

/**
 * The machine a re-executing party runs, never a node's: on the host, the back end bundled from
 * the checkout with a Nix store of its own in `workDir`; for riscv64, the VM on the image, which
 * must be the template's. What replay and a validator both run.
 */
export async function ownMachine(args: {
  root: string
  workDir: string
  system: TemplateSystem
  template: Template
  progress: (event: ReplayProgress) => void
}): Promise<{ command: BackendCommand; env: NodeJS.ProcessEnv }> {
  if (args.system === 'riscv64-linux') {
    // The riscv64 machine is the VM on the image's root file system, seen through a fresh
    // overlay: its store is its own, and its back end is the image's, which must be the
    // template's.
    args.progress({ kind: 'setup', message: 'checking the riscv64 image against the template' })
    await checkTreeAgainst(args.template)
    return { command: riscv64Vm, env: {} }
  }
  const store = `local?root=${join(args.workDir, 'store')}`
  args.progress({ kind: 'setup', message: `preparing a Nix store of its own (${store})` })
  await prepareStore(args.root, store)
  args.progress({ kind: 'setup', message: 'bundling the back end' })
  const bundle = join(args.workDir, 'backend.mjs')
  await writeFile(bundle, await bundleBackend(args.root))
  return {
    command: { file: process.execPath, args: [bundle] },
    env: { NIX_REMOTE: store, CARTENIX_ROOT: args.root, CARTENIX_SYSTEM: args.system },
  }
}

export async function replay(options: ReplayOptions): Promise<ReplayReport> {
  const started = Date.now()
  const root = options.root ?? repoRoot
  const log = options.log ?? (() => {})
  const progress = options.onProgress ?? (() => {})
  const facts = await readApplication(options.publicClient, options.application)
  const template = await computeTemplate({ system: options.system, root })
  if (template.hash.toLowerCase() !== facts.templateHash.toLowerCase()) throw new TemplateMismatchError({ onChain: facts.templateHash, local: template })

  const latest = await options.publicClient.getBlockNumber()
  const claims = (await readClaims(options.publicClient, facts, latest)).sort((a, b) => a.lastProcessedBlockNumber - b.lastProcessedBlockNumber)
  const fromEpoch = options.fromEpoch ?? 0
  const checked = claims.filter((c) => c.epochIndex >= fromEpoch)
  const lastBlock = Math.max(-1, ...checked.map((c) => c.lastProcessedBlockNumber))
  // With --from-epoch, execution starts after the last accepted claim before that epoch, from
  // the outputs that claim accepted; without one, from the first input.
  const anchor = claims.filter((c) => c.accepted && c.epochIndex < fromEpoch).at(-1)
  const firstBlock = anchor ? anchor.lastProcessedBlockNumber + 1 : 0
  const inputs = (await readInputs(options.publicClient, facts, latest)).filter((i) => i.blockNumber <= lastBlock)
  const earlier = inputs.filter((i) => i.blockNumber < firstBlock)
  const replayed = inputs.filter((i) => i.blockNumber >= firstBlock)

  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'cartenix-replay-')))
  await mkdir(workDir, { recursive: true })
  try {
    const statePath = join(workDir, 'node-state.json')
    const prefix = anchor ? await trustedPrefix(options, anchor, earlier) : []
    await saveState(statePath, initialState(facts, options.etherPortal, prefix, earlier, firstBlock))

    const { command, env } = await ownMachine({ root, workDir, system: options.system, template, progress })
    const times = await execute({ facts, statePath, command, env, options, replayed, log, progress })
    // The root a claim should carry: the one after the last input up to its block (the node
    // records it with each input), or the empty tree's when no input came before.
    const rootAfter = new Map(times.state.inputs.map((i) => [i.index, i.outputsHash]))
    const emptyRoot = new OutputsMerkleTree([]).root()
    const epochs = checked.map((claim): EpochVerdict => {
      const upTo = inputs.filter((i) => i.blockNumber <= claim.lastProcessedBlockNumber)
      const last = upTo.at(-1)
      const replayedRoot = last === undefined ? emptyRoot : rootAfter.get(last.index)
      if (!replayedRoot) throw new Error(`Input ${last?.index} was not replayed`)
      return {
        epoch: claim.epochIndex,
        lastBlock: claim.lastProcessedBlockNumber,
        inputs: upTo.filter((i) => Math.floor(i.blockNumber / facts.epochLength) === claim.epochIndex).map((i) => i.index),
        claimed: claim.outputsMerkleRoot,
        replayed: replayedRoot,
        agrees: replayedRoot.toLowerCase() === claim.outputsMerkleRoot.toLowerCase(),
        accepted: claim.accepted,
        submitter: claim.submitter,
      }
    })
    return {
      application: options.application,
      template: { hash: template.hash, system: template.system },
      fromEpoch,
      epochs,
      inputs: times.inputs,
      agrees: epochs.every((e) => e.agrees),
      ms: Date.now() - started,
    }
  } finally {
    if (!options.workDir) await rm(workDir, { recursive: true, force: true })
  }
}

/**
 * The outputs of the epochs before --from-epoch, from the node, checked against the root that the
 * chain accepted for the last claim before the first replayed block: if they make that root, they
 * are the outputs the chain agreed to, whoever served them.
 */
async function trustedPrefix(options: ReplayOptions, anchor: Claim, earlier: ChainInput[]) {
  if (!options.earlierOutputs) throw new UntrustedPrefixError(`Starting at epoch ${options.fromEpoch} needs the outputs before it from a node (--node-url)`)
  const before = new Set(earlier.map((i) => i.index))
  const outputs = (await options.earlierOutputs()).filter((o) => before.has(o.inputIndex))
  const root = new OutputsMerkleTree(outputs.map((o) => keccak256(o.rawData))).root()
  if (root.toLowerCase() !== anchor.outputsMerkleRoot.toLowerCase()) {
    throw new UntrustedPrefixError(
      `The node's ${outputs.length} output(s) up to epoch ${anchor.epochIndex} make the root ${root}, not ${anchor.outputsMerkleRoot} ` +
        `as the chain accepted for that epoch: the node cannot be trusted for them; replay from an earlier epoch`,
    )
  }
  return outputs
}

/** A node state in which the inputs before the first replayed block are already processed. */
function initialState(facts: ApplicationFacts, etherPortal: Address | undefined, prefix: { inputIndex: number; rawData: Hex }[], earlier: ChainInput[], firstBlock: number): NodeState {
  const now = new Date().toISOString()
  const epochOf = (block: number) => Math.floor(block / facts.epochLength)
  const tree = new OutputsMerkleTree([])
  const outputs = prefix.map((o, index) => {
    tree.append(keccak256(o.rawData))
    const input = earlier.find((i) => i.index === o.inputIndex)
    return { index, inputIndex: o.inputIndex, epochIndex: epochOf(input?.blockNumber ?? 0), rawData: o.rawData, hash: null, siblings: null, executionTransactionHash: null, createdAt: now }
  })
  const rootAfterPrefix = tree.root()
  const lastEarlierEpoch = epochOf(firstBlock) - 1
  return {
    version: 1,
    applicationName: 'cartenix-replay',
    deployment: deploymentOf(facts, etherPortal),
    // The node reads InputAdded events from here on; earlier ones are in the state already.
    nextBlock: Math.max(facts.deploymentBlock, firstBlock),
    inputs: earlier.map((i) => ({
      index: i.index, epochIndex: epochOf(i.blockNumber), blockNumber: i.blockNumber, rawData: i.rawData, status: 'ACCEPTED' as const,
      transactionHash: i.transactionHash, outputsHash: rootAfterPrefix, createdAt: now, updatedAt: now,
    })),
    outputs,
    reports: [],
    epochs: Array.from({ length: lastEarlierEpoch + 1 }, (_, index) => ({
      index, firstBlock: index * facts.epochLength, lastBlock: index * facts.epochLength + facts.epochLength - 1,
      status: 'CLAIM_ACCEPTED' as const, claimHash: null, claimTransactionHash: null, createdAt: now, updatedAt: now,
    })),
  }
}

/** Runs the observing node and the bundled back end until every input to replay is processed. */
async function execute(args: {
  facts: ApplicationFacts
  statePath: string
  command: BackendCommand
  env: NodeJS.ProcessEnv
  options: ReplayOptions
  replayed: ChainInput[]
  log: (line: string) => void
  progress: (event: ReplayProgress) => void
}) {
  const { facts, options, replayed } = args
  const limits = devnetExecutionLimits[args.command === riscv64Vm ? 'riscv64' : 'host']
  // Replay gives each input the time a devnet of the same machine gives it, and tells the back
  // end so; supervise.ts replaces a back end that dies or runs past it.
  const port = await freePort()
  const env = {
    ...args.env,
    CARTENIX_ADVANCE_DEADLINE_MS: String(limits.advanceMaxDeadlineMs),
    ...(options.etherPortal ? { CARTENIX_ETHER_PORTAL: options.etherPortal } : {}),
  }
  const backends = superviseBackend({ node: () => node, rollupUrl: `http://127.0.0.1:${port}`, env, command: args.command, log: args.log, label: 'replay' })
  const node = await DevNode.open({
    statePath: args.statePath,
    chainUrl: options.chainUrl,
    ownerKey: devAccountKey,
    observer: true,
    bareUrl: false,
    executionLimits: limits,
    onSessionExpired: (session) => backends.expire(session),
    log: args.log,
  })
  const server = await listen(rollupApi(node), port)
  await backends.start()
  node.start()
  const inputs: ReplayReport['inputs'] = []
  try {
    const wanted = new Set(replayed.map((i) => i.index))
    let mark = Date.now()
    while (inputs.length < wanted.size) {
      const done = node.state.inputs.filter((i) => wanted.has(i.index) && i.status !== 'NONE' && !inputs.some((r) => r.index === i.index))
      for (const input of done.sort((a, b) => a.index - b.index)) {
        const ms = Date.now() - mark
        mark = Date.now()
        inputs.push({ index: input.index, epoch: Math.floor(input.blockNumber / facts.epochLength), status: input.status, ms })
        args.progress({ kind: 'input', index: input.index, done: inputs.length, total: wanted.size, status: input.status, ms })
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return { inputs, state: structuredClone(node.state) as NodeState }
  } finally {
    await backends.stop()
    await node.stop()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
