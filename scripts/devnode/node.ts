/**
 * The dev node: plays the rollups node's part on a machine without Docker. It reads InputAdded
 * events from anvil, serves each input to the back end over the rollup HTTP API, keeps the
 * outputs Merkle tree, closes epochs, submits claims through the real Authority, and answers
 * the node's read API. One input is in flight at a time, in input order.
 *
 * Each back end talks to the node in a session: a token the node handed out (the devnet puts it
 * in the back end's ROLLUP_HTTP_SERVER_URL as a path prefix), or the bare URL for a back end
 * started by hand. Only the session that took the request in flight may add outputs to it or
 * finish it; a session the node does not know (one from before a restart, or from a back end the
 * devnet has given up on) may do nothing at all. So a back end left over from an earlier devnet
 * cannot finish an input a second time.
 */
import { randomBytes } from 'node:crypto'
import {
  createPublicClient, createWalletClient, defineChain, encodeFunctionData, http, keccak256,
  parseEventLogs, toHex, type Address, type Hex, type PublicClient, type WalletClient,
} from 'viem'

/** The blocks a node may follow; `latest` is anvil's and a devnet's. */
export type BlockTag = 'latest' | 'safe' | 'finalized'
import { privateKeyToAccount } from 'viem/accounts'
import { applicationAbi, inputBoxAbi, outputsAbi } from '../../contracts-client/abi/rollups.ts'
import { anvilPollingInterval } from './anvil.ts'
import { submitClaims } from './claims.ts'
import { decodeEvmAdvance } from './evm-advance.ts'
import { OutputsMerkleTree } from './merkle.ts'
import type { FinishStatus, RollupRequestBody } from '../../dapp/protocol/rollupHttp.ts'
import { defaultExecutionParameters, nanosecondsToMs, type InspectStatus } from '../../dapp/protocol/nodeApi.ts'
import { loadState, saveState, type DeploymentRecord, type EpochRecord, type InputRecord, type NodeState } from './state.ts'

export type InspectResult = { status: InspectStatus; exception?: Hex; reports: { payload: Hex }[]; processedInputCount: number }

type PendingInspect = { payload: Hex; resolve: (result: InspectResult) => void; taken: () => void }

/** A token from openSession, or null for the bare rollup URL (a back end started by hand). */
export type Session = string | null

type InFlight = { session: Session; deadline?: NodeJS.Timeout } & (
  | { kind: 'advance'; input: InputRecord; outputs: Hex[]; reports: Hex[] }
  | { kind: 'inspect'; inspect: PendingInspect; reports: Hex[] }
)

/** The back end asked for something that only makes sense while an input is in flight. */
export class NoRequestInFlightError extends Error {
  override name = 'NoRequestInFlightError' as const
}

/** The session is not open on this node (from before a restart, or closed): nothing it asks is done. */
export class UnknownSessionError extends Error {
  override name = 'UnknownSessionError' as const
}

/** The request in flight was handed to another session, which alone may add to it and finish it. */
export class NotYourRequestError extends Error {
  override name = 'NotYourRequestError' as const
}

/** No back end took an inspect request in time (none runs, or it is booting or busy): try again. */
export class InspectTimeoutError extends Error {
  override name = 'InspectTimeoutError' as const
}

/** The node's saved state belongs to another chain or deployment than the one it is asked to follow: it is not served. */
export class ForeignStateError extends Error {
  override name = 'ForeignStateError' as const
  constructor(args: { statePath: string; reason: string }) {
    super(`The dev node state at ${args.statePath} belongs to another chain: ${args.reason}. Move it aside (or delete the devnet directory) to start afresh.`)
  }
}

const describeSession = (session: Session) => (session === null ? 'the bare rollup URL' : `session ${session.slice(0, 8)}…`)

/**
 * The execution parameters the dev node enforces, in milliseconds (the Application record shows
 * them in nanoseconds, as v2 does). Default: the real node's.
 */
export type ExecutionLimits = {
  /** Past this, an advance ends as TIME_LIMIT_EXCEEDED and its back end is replaced. */
  advanceMaxDeadlineMs: number
  /** Past this, an inspect ends as an exception and its back end is replaced. */
  inspectMaxDeadlineMs: number
  /** Inspects admitted at once (queued or in flight); the others wait for a place, as on the real node. */
  maxConcurrentInspects: number
}

export const defaultExecutionLimits: ExecutionLimits = {
  advanceMaxDeadlineMs: nanosecondsToMs(defaultExecutionParameters.advanceMaxDeadline),
  inspectMaxDeadlineMs: nanosecondsToMs(defaultExecutionParameters.inspectMaxDeadline),
  maxConcurrentInspects: defaultExecutionParameters.maxConcurrentInspects,
}

export type DevNodeOptions = {
  statePath: string
  chainUrl: string
  /** Owner of the Authority: the key that submits claims. */
  ownerKey: Hex
  /** Where the contracts are, when the state file does not know yet. */
  deployment?: DeploymentRecord
  applicationName?: string
  pollIntervalMs?: number
  /** How long /finish waits for something to serve before answering 202. */
  finishWaitMs?: number
  /** How long an inspect request waits for a back end to take it (default 60 s). */
  inspectTimeoutMs?: number
  /** Mine empty blocks to close an epoch once its inputs are processed (anvil only). */
  autoMine?: boolean
  /**
   * The block the node follows (default `latest`): inputs are read, and epochs close, up to it.
   * On a public chain `finalized` never sees a reorganisation, as the real node (which reads
   * `finalized` by default); anvil's `finalized` is 64 blocks behind its `latest`.
   */
  blockTag?: BlockTag
  /**
   * Submit claims with ownerKey (default true). False on a devnet whose Quorum's validators vote
   * on their own: the node then follows the chain's verdicts only.
   */
  vote?: boolean
  /** What the node enforces (deadlines); the real node's defaults for what is not given. */
  executionLimits?: Partial<ExecutionLimits>
  /**
   * A request ran past its deadline: the node has ended it and closed the session that held it,
   * whose back end is now in a state the node dropped. The devnet stops that back end and starts
   * another, as the real node drops the machine it forked for the input.
   */
  onSessionExpired?: (session: string, reason: string) => void
  /**
   * Watch and compute, never write to the chain: no mining, no claims (what `cartenix replay`
   * runs, against a chain whose claims others made). Default false.
   */
  observer?: boolean
  /**
   * Serve back ends on the bare rollup URL, without a session token (default true). The devnet
   * turns it off while it runs a back end of its own, so that no other back end competes with it.
   */
  bareUrl?: boolean
  log?: (line: string) => void
}

const now = () => new Date().toISOString()

export class DevNode {
  readonly #options: Required<Omit<DevNodeOptions, 'deployment' | 'applicationName' | 'executionLimits'>>
  readonly executionLimits: ExecutionLimits
  #state: NodeState
  readonly #tree: OutputsMerkleTree
  readonly #public: PublicClient
  readonly #wallet: WalletClient
  #inFlight: InFlight | undefined
  readonly #sessions = new Set<string>()
  /** Sessions closed, with why: what a back end that goes on using one is told. */
  readonly #closed = new Map<string, string>()
  readonly #inspects: PendingInspect[] = []
  /** Inspects admitted (queued for the back end or in flight), at most max_concurrent_inspects. */
  #inspectsAdmitted = 0
  /** Inspects waiting for one of those places, first come first served. */
  readonly #waitingForPlace: (() => void)[] = []
  #wake: (() => void)[] = []
  #timer: NodeJS.Timeout | undefined
  #ticking = false
  /** Set once the chain no longer holds the inputs this node recorded: nothing more is served. */
  #refusal: ForeignStateError | undefined
  /** Whether every recorded input was checked against the chain (then only the newest is, each round). */
  #checkedAll = false
  /** The block at which they were last found as recorded: the next check waits for a new block. */
  #checkedAtBlock = -1
  #saving: Promise<void> = Promise.resolve()
  #stopped = false

  private constructor(options: DevNodeOptions, state: NodeState) {
    this.#options = {
      statePath: options.statePath,
      chainUrl: options.chainUrl,
      ownerKey: options.ownerKey,
      pollIntervalMs: options.pollIntervalMs ?? 50,
      finishWaitMs: options.finishWaitMs ?? 1000,
      inspectTimeoutMs: options.inspectTimeoutMs ?? 60_000,
      autoMine: (options.autoMine ?? true) && !options.observer,
      blockTag: options.blockTag ?? 'latest',
      vote: options.vote ?? true,
      observer: options.observer ?? false,
      bareUrl: options.bareUrl ?? true,
      onSessionExpired: options.onSessionExpired ?? (() => {}),
      log: options.log ?? (() => {}),
    }
    this.executionLimits = { ...defaultExecutionLimits, ...options.executionLimits }
    this.#state = state
    this.#tree = new OutputsMerkleTree(state.outputs.map((o) => keccak256(o.rawData)))
    const chain = defineChain({
      id: state.deployment.chainId,
      name: 'devnet',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [options.chainUrl] } },
    })
    this.#public = createPublicClient({ chain, transport: http(options.chainUrl), pollingInterval: anvilPollingInterval })
    this.#wallet = createWalletClient({ chain, transport: http(options.chainUrl), account: privateKeyToAccount(options.ownerKey), pollingInterval: anvilPollingInterval })
  }

  /** Opens the node on its state file, or on a fresh state for `deployment`. */
  static async open(options: DevNodeOptions): Promise<DevNode> {
    const saved = await loadState(options.statePath)
    if (saved) {
      await checkStateBelongs(options, saved)
      return new DevNode(options, saved)
    }
    if (!options.deployment) throw new Error(`No dev node state at ${options.statePath} and no deployment to start from`)
    const state: NodeState = {
      version: 1,
      applicationName: options.applicationName ?? 'cartenix',
      deployment: options.deployment,
      nextBlock: options.deployment.deploymentBlock,
      inputs: [],
      outputs: [],
      reports: [],
      epochs: [],
    }
    await saveState(options.statePath, state)
    return new DevNode(options, state)
  }

  get state(): Readonly<NodeState> {
    return this.#state
  }

  get processedInputCount(): number {
    return this.#state.inputs.filter((i) => i.status !== 'NONE').length
  }

  start(): void {
    const loop = async () => {
      if (this.#stopped) return
      await this.tick().catch((error: unknown) => this.#options.log(`dev node: ${(error as Error).message}`))
      if (!this.#stopped) this.#timer = setTimeout(loop, this.#options.pollIntervalMs)
    }
    void loop()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    // What is in flight stays unsettled: the next node on this state serves it again, with a new clock.
    clearTimeout(this.#inFlight?.deadline)
    while (this.#ticking) await new Promise((resolve) => setTimeout(resolve, 20))
    for (const wake of this.#wake.splice(0)) wake()
  }

  /** Why this node serves nothing any more, if it does not: its state left the chain it follows. */
  get refusal(): ForeignStateError | undefined {
    return this.#refusal
  }

  /** One round: read new events, close what is over, submit claims. Never runs twice at once. */
  async tick(): Promise<void> {
    if (this.#ticking || this.#refusal) return
    this.#ticking = true
    try {
      await this.#checkRecordedInputs()
      await this.#readChain()
      await this.#closeFinishedEpochs()
      if (!this.#options.observer) await this.#submitClaims()
    } finally {
      this.#ticking = false
    }
  }

  /** Saves one at a time, in order: the file on disk always holds the latest state. */
  #save(): Promise<void> {
    const next = this.#saving.then(() => saveState(this.#options.statePath, this.#state))
    // The chain goes on after a failed save; the caller of this save still gets its error.
    this.#saving = next.catch(() => {})
    return next
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake()
  }

  #epochOf(blockNumber: number): number {
    return Math.floor(blockNumber / this.#state.deployment.epochLength)
  }

  #epoch(index: number): EpochRecord {
    let epoch = this.#state.epochs.find((e) => e.index === index)
    if (!epoch) {
      const length = this.#state.deployment.epochLength
      epoch = { index, firstBlock: index * length, lastBlock: index * length + length - 1, status: 'OPEN', claimHash: null, claimTransactionHash: null, createdAt: now(), updatedAt: now() }
      this.#state.epochs.push(epoch)
      this.#state.epochs.sort((a, b) => a.index - b.index)
    }
    return epoch
  }

  /**
   * The inputs this node recorded must still be on the chain as it recorded them: InputBox keeps
   * each input's hash, which must be the keccak256 of the bytes the node served. All are checked
   * once, then the newest each round. Another hash, or fewer inputs, means the chain was
   * reorganised or reset under the node (anvil's evm_revert, a restart without its state): the
   * node stops serving, with a reason that names both, rather than serve inputs the chain no
   * longer has.
   */
  async #checkRecordedInputs(): Promise<void> {
    const inputs = this.#state.inputs
    if (inputs.length === 0) return
    const latest = await this.#head()
    if (latest === this.#checkedAtBlock) return
    const { application, inputBox } = this.#state.deployment
    const onChain = Number(await this.#public.readContract({ address: inputBox, abi: inputBoxAbi, functionName: 'getNumberOfInputs', args: [application] }))
    const recorded = inputs.length
    let reason: string | undefined
    if (onChain < recorded) {
      reason = `it recorded ${recorded} inputs, and the InputBox on ${this.#options.chainUrl} holds ${onChain} for the application`
    } else {
      for (const input of this.#checkedAll ? inputs.slice(-1) : inputs) {
        const chainHash = await this.#public.readContract({ address: inputBox, abi: inputBoxAbi, functionName: 'getInputHash', args: [application, BigInt(input.index)] })
        const ownHash = keccak256(input.rawData)
        if (chainHash.toLowerCase() !== ownHash) {
          reason = `input ${input.index} (block ${input.blockNumber}) hashes to ${ownHash} in it, and to ${chainHash} on ${this.#options.chainUrl}: the chain was reorganised or reset`
          break
        }
      }
    }
    if (reason) {
      this.#refusal = new ForeignStateError({ statePath: this.#options.statePath, reason })
      this.#notify()
      throw this.#refusal
    }
    this.#checkedAll = true
    this.#checkedAtBlock = latest
  }

  /** The number of the block the node follows (`blockTag`). */
  async #head(): Promise<number> {
    if (this.#options.blockTag === 'latest') return Number(await this.#public.getBlockNumber())
    const block = await this.#public.getBlock({ blockTag: this.#options.blockTag })
    return Number(block.number)
  }

  async #readChain(): Promise<void> {
    const latest = await this.#head()
    if (latest < this.#state.nextBlock) return
    const { application, inputBox } = this.#state.deployment
    const fromBlock = BigInt(this.#state.nextBlock)
    const toBlock = BigInt(latest)
    const [inputLogs, executedLogs] = await Promise.all([
      this.#public.getLogs({ address: inputBox, fromBlock, toBlock }),
      this.#public.getLogs({ address: application, fromBlock, toBlock }),
    ])
    for (const log of parseEventLogs({ abi: inputBoxAbi, logs: inputLogs, eventName: 'InputAdded' })) {
      const args = log.args as { appContract: Address; index: bigint; input: Hex }
      if (args.appContract.toLowerCase() !== application.toLowerCase()) continue
      const index = Number(args.index)
      if (this.#state.inputs.some((i) => i.index === index)) continue
      const blockNumber = Number(log.blockNumber)
      const epochIndex = this.#epochOf(blockNumber)
      this.#epoch(epochIndex)
      this.#state.inputs.push({
        index, epochIndex, blockNumber, rawData: args.input, status: 'NONE', transactionHash: log.transactionHash,
        outputsHash: null, createdAt: now(), updatedAt: now(),
      })
    }
    this.#state.inputs.sort((a, b) => a.index - b.index)
    for (const log of parseEventLogs({ abi: applicationAbi, logs: executedLogs, eventName: 'OutputExecuted' })) {
      const args = log.args as { outputIndex: bigint }
      const output = this.#state.outputs[Number(args.outputIndex)]
      if (output) output.executionTransactionHash = log.transactionHash
    }
    this.#state.nextBlock = latest + 1
    await this.#save()
    if (this.#state.inputs.some((i) => i.status === 'NONE')) this.#notify()
  }

  /** Records the claim (root and proofs) of an epoch whose inputs are all processed. */
  async #closeEpoch(epoch: EpochRecord): Promise<void> {
    const root = this.#tree.root()
    for (const output of this.#state.outputs) {
      if (output.epochIndex !== epoch.index || output.siblings) continue
      output.hash = keccak256(output.rawData)
      output.siblings = this.#tree.siblings(output.index)
    }
    epoch.claimHash = root
    epoch.status = 'CLAIM_COMPUTED'
    epoch.updatedAt = now()
    await this.#save()
    this.#options.log(`dev node: epoch ${epoch.index} closed, outputs root ${root}`)
  }

  async #closeFinishedEpochs(): Promise<void> {
    if (this.#inFlight?.kind === 'advance') return
    const latest = await this.#head()
    for (const epoch of this.#state.epochs.filter((e) => e.status === 'OPEN')) {
      const pending = this.#state.inputs.some((i) => i.epochIndex === epoch.index && i.status === 'NONE')
      if (pending) return
      if (epoch.lastBlock < latest) {
        await this.#closeEpoch(epoch)
      } else if (this.#options.autoMine) {
        // anvil only mines on transactions; mining the rest of the epoch lets its claim go through.
        await this.#public.request({ method: 'anvil_mine' as never, params: [`0x${(epoch.lastBlock - latest + 1).toString(16)}`] as never })
        return
      } else {
        return
      }
    }
  }

  async #submitClaims(): Promise<void> {
    const latestBlock = await this.#public.getBlockNumber()
    await submitClaims({ state: this.#state, public: this.#public, wallet: this.#wallet, save: () => this.#save(), log: this.#options.log, vote: this.#options.vote, latestBlock })
  }

  // --- The rollup HTTP API, back-end side ---

  /** A new session for one back end: the token that prefixes its rollup URL's paths. */
  openSession(): string {
    const token = randomBytes(16).toString('hex')
    this.#sessions.add(token)
    return token
  }

  /**
   * Ends a session (its back end died or was stopped): nothing it sends is accepted any more, and
   * the request it had in flight ends as an exception with `reason` as a report, as a machine that
   * stops mid-input would, so that the next one can be served.
   */
  async closeSession(session: string, reason: string): Promise<void> {
    this.#sessions.delete(session)
    if (!this.#closed.has(session)) this.#closed.set(session, reason)
    if (this.#inFlight && this.#inFlight.session === session) await this.#settle(this.#inFlight, 'EXCEPTION', toHex(reason))
  }

  #checkSession(session: Session): void {
    if (session === null) {
      if (!this.#options.bareUrl) throw new UnknownSessionError('This devnet runs its own back end, so the bare rollup URL takes no back end; start the devnet without one (--no-backend) to run a back end by hand')
    } else if (this.#closed.has(session)) {
      throw new UnknownSessionError(`${describeSession(session)} was closed (${this.#closed.get(session)}): its back end may do nothing more here; stop it`)
    } else if (!this.#sessions.has(session)) {
      throw new UnknownSessionError(`${describeSession(session)} is not open on this dev node: its back end was started by an earlier devnet or has been given up on, and may do nothing here; stop it`)
    }
  }

  /** What `session` has in flight; throws if it has nothing, or if another session has it. */
  #heldBy(session: Session, what: string): InFlight {
    this.#checkSession(session)
    const inFlight = this.#inFlight
    if (!inFlight) throw new NoRequestInFlightError(`${what} is only allowed while a request is being processed`)
    if (inFlight.session !== session) {
      const request = inFlight.kind === 'advance' ? `Input ${inFlight.input.index}` : 'The inspect request in flight'
      throw new NotYourRequestError(`${request} was handed to ${describeSession(inFlight.session)}, not to ${describeSession(session)}: only that session may add to it or finish it`)
    }
    return inFlight
  }

  /** Settles what `session` has in flight with its verdict, then waits for the next request. */
  async finish(session: Session, verdict: FinishStatus): Promise<RollupRequestBody | null> {
    this.#checkSession(session)
    if (this.#inFlight) await this.#settle(this.#heldBy(session, 'Finishing'), verdict === 'accept' ? 'ACCEPTED' : 'REJECTED')
    const deadline = Date.now() + this.#options.finishWaitMs
    for (;;) {
      this.#checkSession(session)
      const next = await this.#next(session)
      if (next || this.#stopped) return next
      const wait = deadline - Date.now()
      if (wait <= 0) return null
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait)
        this.#wake.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  async #next(session: Session): Promise<RollupRequestBody | null> {
    // Another session may have taken a request while this one waited.
    if (this.#inFlight || this.#refusal) return null
    const inspect = this.#inspects.shift()
    if (inspect) {
      inspect.taken()
      this.#inFlight = this.#withDeadline({ session, kind: 'inspect', inspect, reports: [] })
      return { request_type: 'inspect_state', data: { payload: inspect.payload } }
    }
    const input = this.#state.inputs.find((i) => i.status === 'NONE')
    if (!input) return null
    // Outputs of a later epoch must not enter the tree before the earlier epoch's claim is computed.
    for (const epoch of this.#state.epochs.filter((e) => e.status === 'OPEN' && e.index < input.epochIndex)) await this.#closeEpoch(epoch)
    if (this.#inFlight) return null
    this.#inFlight = this.#withDeadline({ session, kind: 'advance', input, outputs: [], reports: [] })
    const { chainId, appContract, msgSender, blockNumber, blockTimestamp, prevRandao, index, payload } = decodeEvmAdvance(input.rawData)
    return {
      request_type: 'advance_state',
      data: {
        metadata: {
          chain_id: Number(chainId),
          app_contract: appContract,
          msg_sender: msgSender,
          block_number: Number(blockNumber),
          block_timestamp: Number(blockTimestamp),
          prev_randao: `0x${prevRandao.toString(16).padStart(64, '0')}`,
          input_index: Number(index),
        },
        payload,
      },
    }
  }

  /** Starts the clock of a request handed out: past its deadline, #expire ends it. */
  #withDeadline(inFlight: InFlight): InFlight {
    const ms = inFlight.kind === 'advance' ? this.executionLimits.advanceMaxDeadlineMs : this.executionLimits.inspectMaxDeadlineMs
    inFlight.deadline = setTimeout(() => void this.#expire(inFlight, ms).catch((error: unknown) => this.#options.log(`dev node: ${String(error)}`)), ms)
    return inFlight
  }

  /**
   * The request ran past its deadline. As the real node does: the input ends as
   * TIME_LIMIT_EXCEEDED with the reports it sent, its outputs are dropped (the machine's state
   * goes back to before it), it counts as processed, and the next input is served. An inspect
   * ends as an exception. The back end that held it is in a state the node dropped, so its
   * session closes and the devnet replaces it.
   */
  async #expire(inFlight: InFlight, ms: number): Promise<void> {
    if (this.#inFlight !== inFlight || this.#stopped) return
    const what = inFlight.kind === 'advance' ? `input ${inFlight.input.index}` : 'an inspect request'
    const parameter = inFlight.kind === 'advance' ? 'advance_max_deadline' : 'inspect_max_deadline'
    const reason = `${what} ran past the node's deadline (${parameter}, ${ms / 1000} s)`
    const { session } = inFlight
    if (session !== null) {
      this.#sessions.delete(session)
      this.#closed.set(session, reason)
    }
    await this.#settle(inFlight, 'TIME_LIMIT_EXCEEDED', toHex(reason))
    if (session === null) {
      this.#options.log(`dev node: ${reason}; the back end on the bare rollup URL holds work the node dropped: restart it`)
    } else {
      this.#options.log(`dev node: ${reason}; closing ${describeSession(session)}`)
      this.#options.onSessionExpired(session, reason)
    }
    this.#notify()
  }

  async #settle(inFlight: InFlight, status: 'ACCEPTED' | 'REJECTED' | 'EXCEPTION' | 'TIME_LIMIT_EXCEEDED', exception?: Hex): Promise<void> {
    this.#inFlight = undefined
    clearTimeout(inFlight.deadline)
    if (inFlight.kind === 'inspect') {
      // The real node answers an inspect that runs out of time as an exception.
      const inspectStatus: InspectStatus = status === 'ACCEPTED' ? 'Accepted' : status === 'REJECTED' ? 'Rejected' : 'Exception'
      inFlight.inspect.resolve({
        status: inspectStatus,
        ...(exception ? { exception } : {}),
        reports: inFlight.reports.map((payload) => ({ payload })),
        processedInputCount: this.processedInputCount,
      })
      return
    }
    const { input } = inFlight
    if (status === 'ACCEPTED') {
      for (const rawData of inFlight.outputs) {
        const index = this.#tree.append(keccak256(rawData))
        this.#state.outputs.push({
          index, inputIndex: input.index, epochIndex: input.epochIndex, rawData,
          hash: null, siblings: null, executionTransactionHash: null, createdAt: now(),
        })
      }
    }
    // A deadline's reason is the node's, not the machine's: it is logged, not reported.
    const thrown = status === 'EXCEPTION' ? exception : undefined
    for (const rawData of thrown ? [...inFlight.reports, thrown] : inFlight.reports) {
      this.#state.reports.push({ index: this.#state.reports.length, inputIndex: input.index, epochIndex: input.epochIndex, rawData, createdAt: now() })
    }
    input.status = status
    input.outputsHash = this.#tree.root()
    input.updatedAt = now()
    await this.#save()
    this.#options.log(`dev node: input ${input.index} ${status.toLowerCase()}${status === 'ACCEPTED' ? ` with ${inFlight.outputs.length} output(s)` : ''}`)
  }

  #addOutput(session: Session, what: string, rawData: Hex): number {
    const inFlight = this.#heldBy(session, what)
    if (inFlight.kind !== 'advance') throw new NoRequestInFlightError(`${what} is only allowed while an advance request is being processed`)
    inFlight.outputs.push(rawData)
    return this.#tree.size + inFlight.outputs.length - 1
  }

  addNotice(session: Session, payload: Hex): number {
    return this.#addOutput(session, 'A notice', encodeFunctionData({ abi: outputsAbi, functionName: 'Notice', args: [payload] }))
  }

  addVoucher(session: Session, destination: Address, value: bigint, payload: Hex): number {
    return this.#addOutput(session, 'A voucher', encodeFunctionData({ abi: outputsAbi, functionName: 'Voucher', args: [destination, value, payload] }))
  }

  addDelegateCallVoucher(session: Session, destination: Address, payload: Hex): number {
    return this.#addOutput(session, 'A delegate-call voucher', encodeFunctionData({ abi: outputsAbi, functionName: 'DelegateCallVoucher', args: [destination, payload] }))
  }

  addReport(session: Session, payload: Hex): void {
    this.#heldBy(session, 'A report').reports.push(payload)
  }

  async exception(session: Session, payload: Hex): Promise<void> {
    await this.#settle(this.#heldBy(session, 'An exception'), 'EXCEPTION', payload)
  }

  // --- Read side ---

  /**
   * Queues an inspect request for the back end and resolves with its verdict and reports. At
   * most max_concurrent_inspects are admitted at once; the others wait for a place, as on the
   * real node. Either wait (for a place, then for a back end to take it) ends at `timeoutMs`
   * with InspectTimeoutError; once taken, the inspect runs until inspect_max_deadline.
   */
  inspect(payload: Hex, timeoutMs = this.#options.inspectTimeoutMs): Promise<InspectResult> {
    const limit = this.executionLimits.maxConcurrentInspects
    return new Promise((resolve, reject) => {
      let admitted = false
      const release = () => {
        this.#inspectsAdmitted--
        this.#waitingForPlace.shift()?.()
      }
      const pending: PendingInspect = {
        payload,
        taken: () => clearTimeout(timer),
        resolve: (result) => {
          clearTimeout(timer)
          release()
          resolve(result)
        },
      }
      const admit = () => {
        admitted = true
        this.#inspectsAdmitted++
        this.#inspects.push(pending)
        this.#notify()
      }
      const timer = setTimeout(() => {
        if (!admitted) {
          const at = this.#waitingForPlace.indexOf(admit)
          if (at >= 0) this.#waitingForPlace.splice(at, 1)
          reject(new InspectTimeoutError(`The node is at its limit of ${limit} concurrent inspect request(s) (max_concurrent_inspects), and no place came free within ${timeoutMs} ms: try again`))
          return
        }
        const at = this.#inspects.indexOf(pending)
        if (at >= 0) this.#inspects.splice(at, 1)
        release()
        reject(new InspectTimeoutError(`No back end took the inspect request within ${timeoutMs} ms (none is running, or it is starting or busy): try again`))
      }, timeoutMs)
      if (this.#inspectsAdmitted < limit) admit()
      else this.#waitingForPlace.push(admit)
    })
  }
}

/**
 * A saved state is served only on the chain and deployment it was recorded from: the deployment
 * the devnet asks for (when it names one) must be the saved one, and the chain, when it answers,
 * must have the saved chain id and the Application's code. A chain that is not up yet is not
 * judged here; the node's rounds wait for it.
 */
async function checkStateBelongs(options: DevNodeOptions, saved: NodeState): Promise<void> {
  const refuse = (reason: string) => new ForeignStateError({ statePath: options.statePath, reason })
  const was = saved.deployment
  const wanted = options.deployment
  if (wanted) {
    for (const key of ['chainId', 'application', 'inputBox', 'consensus'] as const) {
      if (String(wanted[key]).toLowerCase() !== String(was[key]).toLowerCase()) {
        throw refuse(`it was recorded for ${key} ${was[key]}, and this devnet's is ${wanted[key]}`)
      }
    }
  }
  const chain = createPublicClient({ transport: http(options.chainUrl) })
  const chainId = await chain.getChainId().catch(() => undefined)
  if (chainId === undefined) return
  if (chainId !== was.chainId) throw refuse(`it was recorded on chain ${was.chainId}, and ${options.chainUrl} is chain ${chainId}`)
  const code = await chain.getCode({ address: was.application }).then((bytes) => bytes ?? '0x', () => undefined)
  if (code === '0x') throw refuse(`its Application ${was.application} has no code on ${options.chainUrl} (chain ${chainId})`)
}

