import { parseArgs } from 'node:util'
import { defaultDevnetDir, startDevnet } from '../../devnode/devnet.ts'
import { toJson } from '../render.ts'
import { UsageError } from '../usage.ts'

export const devnetUsage = `cartenix devnet [--dir DIR] [--epoch-length N] [--no-backend] [--no-page] [--machine host|riscv64] [--json]

Runs a local rollup until Ctrl-C: anvil with the Cartesi Rollups v2.2.0 contracts, the dev node
(rollup HTTP API on :5004, JSON-RPC and inspect on :10011) and the back end. State is kept in
DIR (default .cartenix/devnet), so a restart resumes. --machine riscv64 runs the back end in
the riscv64 VM (qemu-system-riscv64, Nix's sandbox on; run \`npm run image\` first) and deploys
the Application with the riscv64 template. The web page is served at the node's URL
(http://127.0.0.1:10011/) unless --no-page.`

export async function devnetCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string', default: defaultDevnetDir },
      'epoch-length': { type: 'string', default: '1' },
      'no-backend': { type: 'boolean', default: false },
      'no-page': { type: 'boolean', default: false },
      machine: { type: 'string', default: 'host' },
      json: { type: 'boolean', default: false },
    },
  })
  if (values.machine !== 'host' && values.machine !== 'riscv64') throw new UsageError('--machine is host or riscv64')
  const devnet = await startDevnet({ dir: values.dir, epochLength: Number(values['epoch-length']), backend: !values['no-backend'], page: !values['no-page'], machine: values.machine, log: (line) => console.error(line) })
  const summary = { ...(devnet.pageUrl ? { pageUrl: devnet.pageUrl } : {}), chainUrl: devnet.chainUrl, rollupUrl: devnet.rollupUrl, nodeUrl: devnet.nodeUrl, ...devnet.deployment }
  console.log(values.json ? toJson(summary) : Object.entries(summary).map(([k, v]) => `${k.padEnd(16)} ${v}`).join('\n'))
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await devnet.stop()
  return 0
}
