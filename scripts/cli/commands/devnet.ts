import { parseArgs } from 'node:util'
import { defaultDevnetDir } from '../../devnode/devnet.ts'
import { ConsensusMismatchError, devQuorumKeys, startDevnetOn } from '../../validator/devnet.ts'
import { describeValidatorEvent } from '../../validator/validator.ts'
import { toJson } from '../render.ts'
import { UsageError } from '../usage.ts'

export const devnetUsage = `cartenix devnet [--dir DIR] [--epoch-length N] [--no-backend] [--no-page] [--machine host|riscv64] [--consensus authority|quorum] [--validators N] [--json]

Runs a local rollup until Ctrl-C: anvil with the Cartesi Rollups v2.2.0 contracts, the dev node
(rollup HTTP API on :5004, JSON-RPC and inspect on :10011) and the back end. State is kept in
DIR (default .cartenix/devnet), so a restart resumes. --machine riscv64 runs the back end in
the riscv64 VM (qemu-system-riscv64, Nix's sandbox on; run \`npm run image\` first) and deploys
the Application with the riscv64 template. The web page is served at the node's URL
(http://127.0.0.1:10011/) unless --no-page.

--consensus quorum deploys a Quorum of N validators (--validators, 1 to 3, default 3: anvil's
accounts 0, 2 and 3) in place of the Authority, on a new devnet directory, and runs N
\`cartenix validator\`s, each re-executing with a Nix store of its own in DIR/validator-<i>; the
dev node then only reads, and an epoch is accepted once 1 + N/2 validators voted its root.`

export async function devnetCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string', default: defaultDevnetDir },
      'epoch-length': { type: 'string', default: '1' },
      'no-backend': { type: 'boolean', default: false },
      'no-page': { type: 'boolean', default: false },
      machine: { type: 'string', default: 'host' },
      consensus: { type: 'string', default: 'authority' },
      validators: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
    },
  })
  if (values.machine !== 'host' && values.machine !== 'riscv64') throw new UsageError('--machine is host or riscv64')
  if (values.consensus !== 'authority' && values.consensus !== 'quorum') throw new UsageError('--consensus is authority or quorum')
  const count = Number(values.validators)
  if (!Number.isInteger(count) || count < 1 || count > devQuorumKeys.length) throw new UsageError(`--validators is 1 to ${devQuorumKeys.length} (anvil's accounts 0, 2 and 3)`)
  const log = (line: string) => console.error(line)
  const devnet = await startDevnetOn({
    dir: values.dir,
    epochLength: Number(values['epoch-length']),
    backend: !values['no-backend'],
    page: !values['no-page'],
    machine: values.machine,
    consensus: values.consensus,
    validators: count,
    onValidatorEvent: (i, event) => log(`validator ${i}: ${describeValidatorEvent(event)}`),
    log,
  }).catch((error: unknown) => {
    throw error instanceof ConsensusMismatchError ? new UsageError(error.message) : error
  })
  try {
    const summary = { ...(devnet.pageUrl ? { pageUrl: devnet.pageUrl } : {}), chainUrl: devnet.chainUrl, rollupUrl: devnet.rollupUrl, nodeUrl: devnet.nodeUrl, ...devnet.deployment }
    console.log(values.json ? toJson(summary) : Object.entries(summary).map(([k, v]) => `${k.padEnd(16)} ${v}`).join('\n'))
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
  } finally {
    await devnet.stop()
  }
  return 0
}
