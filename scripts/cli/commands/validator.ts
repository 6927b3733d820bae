import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { repoRoot } from '../../../dapp/lib/paths.ts'
import { hostTemplateSystem, isTemplateSystem, templateSystems } from '../../../image/template.ts'
import type { BlockTag } from '../../devnode/node.ts'
import { describeValidatorEvent, startValidator } from '../../validator/validator.ts'

const blockTags: readonly BlockTag[] = ['finalized', 'safe', 'latest']
import { connect, connectionOptions, portalForReexecution } from '../connection.ts'
import { UsageError } from '../usage.ts'

export const validatorUsage = `cartenix validator (--private-key KEY | --key-file FILE) [--state-dir DIR] [--system S] [--block-tag T] [--json]

Votes in the application's Quorum as one of its validators, until stopped (Ctrl-C): follows the
application's inputs on the chain, re-executes each one with a machine of its own (the bundled
back end and a Nix store of its own, or the riscv64 VM), never takes an output from a node, and
submits its own outputs root for each closed epoch with its key. It checks the template hash
first, as replay does, and that its key is one of the Quorum's validators. A restart resumes
from its state directory; the chain says whether it voted in an epoch already, so it never votes
twice. Each vote is logged with its epoch and root; a root the Quorum accepted that is not its
own is said loudly, and the exit status is then 1.

  --private-key KEY  the validator's key (or CARTENIX_PRIVATE_KEY)
  --key-file FILE    a file holding the key
  --state-dir DIR    where it keeps its state (default .cartenix/validator-<address>)
  --system S         ${Object.keys(templateSystems).join(' or ')} (default: this host's)
  --block-tag T      the block it follows: finalized (default), safe or latest (the default on
                     anvil, chain id 31337, whose finalized block lags 64 behind)
  --rpc-url URL, --application ADDR   as every command (defaults fit the devnet)
  --ether-portal ADDR  the EtherPortal the application's back end reads deposits from (required
                       unless the devnet's deployment.json gives it): without it, a deposit's
                       input would be read otherwise and the vote would differ
  --json             one JSON object per event on stdout`

export async function validatorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...connectionOptions, 'key-file': { type: 'string' }, 'state-dir': { type: 'string' }, system: { type: 'string' }, 'block-tag': { type: 'string' } } })
  const system = values.system ?? hostTemplateSystem()
  if (!isTemplateSystem(system)) throw new UsageError(`--system must be one of ${Object.keys(templateSystems).join(', ')}`)
  const blockTag = values['block-tag']
  if (blockTag !== undefined && !blockTags.includes(blockTag as BlockTag)) throw new UsageError(`--block-tag is one of ${blockTags.join(', ')}`)
  const key = (values['key-file'] ? (await readFile(values['key-file'], 'utf8')).trim() : undefined) ?? values['private-key'] ?? process.env.CARTENIX_PRIVATE_KEY
  if (!key) throw new UsageError('a validator votes with its own key: pass --private-key or --key-file (or set CARTENIX_PRIVATE_KEY)')
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new UsageError('the key must be 0x and 64 hex digits')
  const connection = await connect({ ...values, 'private-key': key })
  const etherPortal = portalForReexecution(connection)
  const address = privateKeyToAccount(key as Hex).address
  let differs = false
  const validator = await startValidator({
    chainUrl: connection.rpcUrl,
    application: connection.application,
    privateKey: key as Hex,
    stateDir: values['state-dir'] ?? join(repoRoot, '.cartenix', `validator-${address.toLowerCase()}`),
    system,
    etherPortal,
    ...(blockTag ? { blockTag: blockTag as BlockTag } : {}),
    onEvent: (event) => {
      if (event.event === 'differs') {
        differs = true
        console.error(`\n!!! ${describeValidatorEvent(event)} !!!\n`)
      }
      console.log(values.json ? JSON.stringify(event) : describeValidatorEvent(event))
    },
    log: (line) => console.error(line),
  })
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await validator.stop()
  return differs ? 1 : 0
}
