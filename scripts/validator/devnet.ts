/**
 * A devnet on the consensus of one's choice: the Authority (the devnet alone), or a Quorum of N
 * of anvil's development keys (accounts 0, 2 and 3) whose validators run in this process, each
 * re-executing with a Nix store and state of its own in DIR/validator-<i>, while the dev node
 * only reads. `cartenix devnet`, `npm start` and the test harness start devnets through here.
 */
import { join } from 'node:path'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { CartenixError } from '../../dapp/lib/errors.ts'
import { hostTemplateSystem } from '../../image/template.ts'
import { devAccountKey, devValidatorKeys } from '../devnode/anvil.ts'
import { startDevnet, type Devnet, type DevnetOptions } from '../devnode/devnet.ts'
import { startValidator, type Validator, type ValidatorEvent } from './validator.ts'

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

export type DevnetWithValidators = Devnet & { validators: Validator[] }

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
  const validators: Validator[] = []
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
    for (const [i, key] of keys.entries()) {
      validators.push(
        await startValidator({
          chainUrl: devnet.chainUrl,
          application: devnet.deployment.application,
          privateKey: key,
          stateDir: join(options.dir, `validator-${i + 1}`),
          system: options.machine === 'riscv64' ? 'riscv64-linux' : hostTemplateSystem(),
          etherPortal: devnet.deployment.etherPortal,
          onEvent: (event) => onValidatorEvent?.(i + 1, event),
          log: (line) => log(`validator ${i + 1}: ${line}`),
        }),
      )
    }
  } catch (error) {
    await stopAll()
    throw error
  }
  // The devnet itself, not a copy: its `node` and `backend` are getters that follow restarts.
  return Object.assign(devnet, { validators, stop: stopAll })
}
