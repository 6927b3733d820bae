/**
 * A devnet on the consensus of one's choice: the Authority (the devnet alone), or a Quorum of N
 * of anvil's development keys (accounts 0, 2 and 3) whose validators each run as a
 * `cartenix validator` process, re-executing with a Nix store and state of its own in
 * DIR/validator-<i>, while the dev node only reads. `cartenix devnet`, `npm start` and the test harness start devnets through here.
 */
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Address, Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { CartenixError } from '../../dapp/lib/errors.ts'
import { hostTemplateSystem } from '../../image/template.ts'
import { devAccountKey, devValidatorKeys } from '../devnode/anvil.ts'
import { startDevnet, type Devnet, type DevnetOptions } from '../devnode/devnet.ts'
import { spawnTied } from '../../image/host/processes.ts'
import type { TemplateSystem } from '../../image/template.ts'
import { repoRoot } from '../../dapp/lib/paths.ts'
import type { ValidatorEvent } from './validator.ts'

/** The keys a devnet's Quorum is made of, in order: anvil's accounts 0, 2 and 3. */
export const devQuorumKeys: readonly Hex[] = [devAccountKey as Hex, ...(devValidatorKeys as readonly Hex[])]

export type Consensus = 'authority' | 'quorum'

export type ConsensusOptions = {
  /** Default `authority`. */
  consensus?: Consensus
  /** With a Quorum: how many validators (1 to 3, default 3). */
  validators?: number
  /** Each validator's events, with its number (1 to N). */
  onValidatorEvent?: (validator: number, event: ValidatorEvent) => void
}

/** A validator the devnet started: `cartenix validator` in a process of its own. */
export type DevnetValidator = { number: number; address: Address; process: ChildProcess; stop: () => Promise<void> }

export type DevnetWithValidators = Devnet & { validators: DevnetValidator[] }

/** The devnet's directory holds a chain deployed with the other consensus. */
export class ConsensusMismatchError extends CartenixError {
  override name = 'ConsensusMismatchError' as const
}

export async function startDevnetOn(options: DevnetOptions & ConsensusOptions): Promise<DevnetWithValidators> {
  const { consensus = 'authority', validators: count = devQuorumKeys.length, onValidatorEvent, ...devnetOptions } = options
  if (consensus === 'quorum' && (!Number.isInteger(count) || count < 1 || count > devQuorumKeys.length)) {
    throw new CartenixError(`A devnet's Quorum has 1 to ${devQuorumKeys.length} validators (anvil's accounts 0, 2 and 3), not ${count}`)
  }
  const keys = consensus === 'quorum' ? devQuorumKeys.slice(0, count) : []
  const log = options.log ?? (() => {})
  const devnet = await startDevnet({
    ...devnetOptions,
    // The node only reads: the validators vote.
    ...(consensus === 'quorum' ? { quorumValidators: keys.map((key) => privateKeyToAccount(key).address), vote: false } : {}),
  })
  const validators: DevnetValidator[] = []
  const stopDevnet = devnet.stop
  const stopAll = async () => {
    for (const validator of validators.splice(0)) await validator.stop()
    await stopDevnet()
  }
  try {
    const deployed: Consensus = devnet.deployment.consensusType === 'QUORUM' ? 'quorum' : 'authority'
    // A Quorum of given addresses (quorumValidators, the node voting as one) is a Quorum too.
    const wanted: Consensus = devnetOptions.quorumValidators ? 'quorum' : consensus
    if (deployed !== wanted) {
      throw new ConsensusMismatchError(`The devnet in ${options.dir} was deployed with ${deployed === 'quorum' ? 'a Quorum' : 'an Authority'}: delete it (or use another directory) for a new chain with the consensus ${wanted}`)
    }
    // Each validator a process of its own, as operators run them: one that fails takes no other down.
    const starts = await Promise.allSettled(
      keys.map((key, i) =>
        startValidatorProcess({
          number: i + 1,
          key,
          stateDir: join(options.dir, `validator-${i + 1}`),
          system: options.machine === 'riscv64' ? 'riscv64-linux' : hostTemplateSystem(),
          devnet,
          onEvent: (event) => onValidatorEvent?.(i + 1, event),
          log: (line) => log(`validator ${i + 1}: ${line}`),
        }),
      ),
    )
    // Those that started are stopped with the rest if another did not.
    for (const start of starts) if (start.status === 'fulfilled') validators.push(start.value)
    const failed = starts.find((start) => start.status === 'rejected')
    if (failed) throw failed.reason
  } catch (error) {
    await stopAll()
    throw error
  }
  // The devnet itself, not a copy: its `node` and `backend` are getters that follow restarts.
  return Object.assign(devnet, { validators, stop: stopAll })
}

/** How long a validator has to stop on SIGTERM (its back end stops its build) before SIGKILL. */
const validatorStopGraceMs = 30_000
/** How long a validator may take to start: its own store, then the back end bundled. */
const validatorStartTimeoutMs = 5 * 60_000

/**
 * Starts `cartenix validator --json` for the devnet, its key in the environment (not on the
 * command line, where `ps` shows it), tied to this process (SIGTERM if it dies). Resolves once the
 * validator says it started; rejects with the end of its log if it exits first.
 */
async function startValidatorProcess(args: {
  number: number
  key: Hex
  stateDir: string
  system: TemplateSystem
  devnet: Devnet
  onEvent: (event: ValidatorEvent) => void
  log: (line: string) => void
}): Promise<DevnetValidator> {
  const { deployment } = args.devnet
  const child = spawnTied(
    process.execPath,
    [join(repoRoot, 'bin/cartenix.js'), 'validator', '--json', '--state-dir', args.stateDir, '--system', args.system,
      '--rpc-url', args.devnet.chainUrl, '--application', deployment.application, '--ether-portal', deployment.etherPortal],
    { cwd: repoRoot, env: { ...process.env, CARTENIX_PRIVATE_KEY: args.key }, stdio: ['ignore', 'pipe', 'pipe'], deathSignal: 'TERM' },
  )
  const tail: string[] = []
  let started: ((address: Address) => void) | undefined
  const ready = new Promise<Address>((resolve) => (started = resolve))
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let event: ValidatorEvent
    try {
      event = JSON.parse(line) as ValidatorEvent
    } catch {
      args.log(line)
      return
    }
    if (event.event === 'started') started?.(event.validator)
    args.onEvent(event)
  })
  createInterface({ input: child.stderr! }).on('line', (line) => {
    args.log(line)
    tail.push(line)
    if (tail.length > 20) tail.shift()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const kill = setTimeout(() => child.kill('SIGKILL'), validatorStopGraceMs)
    await exited
    clearTimeout(kill)
  }
  const outcome = await Promise.race([
    ready,
    exited.then((code) => new Error(`Validator ${args.number} exited (code ${code}) before it started:\n  ${tail.join('\n  ')}`)),
    new Promise<Error>((resolve) => setTimeout(() => resolve(new Error(`Validator ${args.number} did not start within ${validatorStartTimeoutMs / 1000} s:\n  ${tail.join('\n  ')}`)), validatorStartTimeoutMs).unref()),
  ])
  if (outcome instanceof Error) {
    await stop()
    throw new CartenixError(outcome.message)
  }
  return { number: args.number, address: outcome, process: child, stop }
}
