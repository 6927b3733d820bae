/**
 * A validator of a Quorum: follows an application's inputs on any chain, re-executes every input
 * with a machine of its own (replay's: the bundled back end and a Nix store of its own, or the
 * riscv64 VM), never takes an output from a node, and for each closed epoch submits its own
 * outputs root to the consensus with its own key.
 *
 * - It checks the template hash first, as replay does, and that its key is one of the Quorum's
 *   validators.
 * - Everything it keeps is in its state directory (the node state, the store, the back end's
 *   state), so a restart resumes where it stopped: the chain says whether it voted in an epoch
 *   already, so it never votes twice, and no epoch is skipped.
 * - Each vote and each verdict of the chain is an event (`onEvent`): its vote, the root the
 *   Quorum accepted, and, loudly, an accepted root that is not its own.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { serve, type ServerType } from '@hono/node-server'
import { createPublicClient, http, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { quorumAbi } from '../../contracts-client/abi/rollups.ts'
import { CartenixError } from '../../dapp/lib/errors.ts'
import { repoRoot } from '../../dapp/lib/paths.ts'
import { computeTemplate, type Template, type TemplateSystem } from '../../image/template.ts'
import { devnetExecutionLimits, freePort } from '../devnode/devnet.ts'
import { acceptedRoot } from '../devnode/claims.ts'
import { DevNode, type BlockTag } from '../devnode/node.ts'
import { takeStateDir, type StateDirOwnership } from '../devnode/ownership.ts'
import { rollupApi } from '../devnode/rollup-api.ts'
import { superviseBackend } from '../devnode/supervise.ts'
import { deploymentOf, readApplication } from '../replay/chain.ts'
import { ownMachine, TemplateMismatchError } from '../replay/replay.ts'

/** anvil's chain id: a local chain, which mines only on transactions. */
const localChainId = 31337

/** This key is not one of the Quorum's validators, or the consensus is no Quorum. */
export class NotAValidatorError extends CartenixError {
  override name = 'NotAValidatorError' as const
}

export type ValidatorEvent =
  | { event: 'started'; application: Address; validator: Address; id: number; template: Hex }
  | { event: 'input'; index: number; status: string }
  | { event: 'vote'; epoch: number; lastBlock: number; root: Hex; transaction: Hex }
  | { event: 'accepted'; epoch: number; root: Hex }
  | { event: 'differs'; epoch: number; ours: Hex; accepted: Hex | null; message: string }

/** An event in one line, for a terminal. */
export function describeValidatorEvent(event: ValidatorEvent): string {
  switch (event.event) {
    case 'started':
      return `validator ${event.validator} (id ${event.id}) of ${event.application}, template ${event.template}`
    case 'input':
      return `input ${event.index}: ${event.status}`
    case 'vote':
      return `epoch ${event.epoch}: voted ${event.root} (last block ${event.lastBlock}, transaction ${event.transaction})`
    case 'accepted':
      return `epoch ${event.epoch}: the Quorum accepted ${event.root}, this validator's root`
    case 'differs':
      return `epoch ${event.epoch}: ${event.message}`
  }
}

export type ValidatorOptions = {
  chainUrl: string
  application: Address
  privateKey: Hex
  /** Where the validator keeps everything: its node state, its store, its back end's state. */
  stateDir: string
  system: TemplateSystem
  /** The checkout whose template must be the application's (default: this one). */
  root?: string
  /** The EtherPortal, whose inputs carry sender and value before the request. */
  etherPortal?: Address
  /**
   * The block it follows: default `finalized`, which a reorganisation never changes, as the real
   * node's default; `latest` on a local chain (anvil's id 31337), whose `finalized` lags 64 blocks.
   */
  blockTag?: BlockTag
  onEvent?: (event: ValidatorEvent) => void
  log?: (line: string) => void
}

export type Validator = { address: Address; node: DevNode; stop: () => Promise<void> }

const listen = (app: { fetch: (request: Request) => Response | Promise<Response> }, port: number) =>
  new Promise<ServerType>((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => resolve(server))
  })

export async function startValidator(options: ValidatorOptions): Promise<Validator> {
  const root = options.root ?? repoRoot
  const publicClient = createPublicClient({ transport: http(options.chainUrl) })
  const facts = await readApplication(publicClient, options.application)
  const template = await computeTemplate({ system: options.system, root })
  if (template.hash.toLowerCase() !== facts.templateHash.toLowerCase()) throw new TemplateMismatchError({ onChain: facts.templateHash, local: template })
  const me = privateKeyToAccount(options.privateKey).address
  if (facts.consensusType !== 'QUORUM') throw new NotAValidatorError(`The application's consensus ${facts.consensus} is not a Quorum: it has no validators to vote`)
  const id = Number(await publicClient.readContract({ address: facts.consensus, abi: quorumAbi, functionName: 'validatorId', args: [me] }))
  if (id === 0) throw new NotAValidatorError(`${me} is not a validator of the Quorum ${facts.consensus} (its validators: ${facts.validators.join(', ')})`)

  await mkdir(options.stateDir, { recursive: true })
  // One validator per state directory; what a validator killed outright left running (its back
  // end's nix-store and build) is stopped before this one starts.
  const ownership = await takeStateDir(options.stateDir, options.log, 'validator')
  try {
    return await run(options, { me, id, facts, template, root, ownership })
  } catch (error) {
    await ownership.release()
    throw error
  }
}

async function run(
  options: ValidatorOptions,
  context: { me: Address; id: number; facts: Awaited<ReturnType<typeof readApplication>>; template: Template; root: string; ownership: StateDirOwnership },
): Promise<Validator> {
  const { me, id, facts, template, root, ownership } = context
  const publicClient = createPublicClient({ transport: http(options.chainUrl) })
  const log = options.log ?? (() => {})
  const emit = options.onEvent ?? (() => {})
  const { command, env } = await ownMachine({ root, workDir: options.stateDir, system: options.system, template, progress: (p) => p.kind === 'setup' && log(`validator: ${p.message}`) })
  const limits = devnetExecutionLimits[options.system === 'riscv64-linux' ? 'riscv64' : 'host']
  const port = await freePort()
  const backends = superviseBackend({
    node: () => node,
    rollupUrl: `http://127.0.0.1:${port}`,
    env: {
      ...env,
      CARTENIX_ADVANCE_DEADLINE_MS: String(limits.advanceMaxDeadlineMs),
      // Kept across restarts, as a devnet keeps its back end's.
      ...(options.system === 'riscv64-linux' ? { CARTENIX_VM_DIR: join(options.stateDir, 'vm') } : { CARTENIX_STATE_DIR: join(options.stateDir, 'backend-state') }),
      ...(options.etherPortal ? { CARTENIX_ETHER_PORTAL: options.etherPortal } : {}),
    },
    command,
    log,
    label: 'validator',
    started: (child, url) => ownership.track(child, { role: 'backend', command: [command.file, ...command.args].join(' '), rollupUrl: url }),
  })
  const node: DevNode = await DevNode.open({
    statePath: join(options.stateDir, 'node-state.json'),
    chainUrl: options.chainUrl,
    ownerKey: options.privateKey,
    deployment: deploymentOf(facts, options.etherPortal),
    applicationName: 'cartenix-validator',
    // A validator never mines: epochs close as the chain goes on.
    autoMine: false,
    blockTag: options.blockTag ?? (facts.chainId === localChainId ? 'latest' : 'finalized'),
    bareUrl: false,
    executionLimits: limits,
    onSessionExpired: (session) => backends.expire(session),
    log,
  })
  const server = await listen(rollupApi(node), port)
  emit({ event: 'started', application: facts.application, validator: me, id, template: template.hash })
  await backends.start()
  node.start()

  // Events from what the node records: a status seen once is not reported again.
  const seen = new Map<string, string>()
  const report = () => {
    for (const input of node.state.inputs) {
      if (input.status !== 'NONE' && seen.get(`input ${input.index}`) !== input.status) {
        seen.set(`input ${input.index}`, input.status)
        emit({ event: 'input', index: input.index, status: input.status })
      }
    }
    for (const epoch of node.state.epochs) {
      const ours = epoch.claimHash as Hex
      // Its vote: the transaction that cast it (recorded before its receipt, kept across restarts).
      if (epoch.claimTransactionHash && seen.get(`vote ${epoch.index}`) !== epoch.claimTransactionHash) {
        seen.set(`vote ${epoch.index}`, epoch.claimTransactionHash)
        emit({ event: 'vote', epoch: epoch.index, lastBlock: epoch.lastBlock, root: ours, transaction: epoch.claimTransactionHash })
      }
      if (seen.get(`epoch ${epoch.index}`) === epoch.status) continue
      seen.set(`epoch ${epoch.index}`, epoch.status)
      if (epoch.status === 'CLAIM_ACCEPTED') emit({ event: 'accepted', epoch: epoch.index, root: ours })
      if (epoch.status === 'CLAIM_REJECTED') {
        const index = epoch.index
        void acceptedRoot(publicClient, facts.consensus, facts.application, epoch.lastBlock).then(
          (accepted) => emit({ event: 'differs', epoch: index, ours, accepted: accepted ?? null, message: `THE QUORUM ACCEPTED ANOTHER ROOT for epoch ${index}: ${accepted ?? '(not found)'}, and this validator computed ${ours}` }),
          (error: unknown) => emit({ event: 'differs', epoch: index, ours, accepted: null, message: `THE QUORUM ACCEPTED ANOTHER ROOT for epoch ${index} than this validator computed (${ours}); reading which failed: ${String(error)}` }),
        )
      }
    }
  }
  const timer = setInterval(report, 200)

  return {
    address: me,
    node,
    stop: async () => {
      clearInterval(timer)
      report()
      await backends.stop()
      await node.stop()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await ownership.release()
    },
  }
}
