/**
 * `npm run devnet`: anvil with the rollups contracts, the dev node and the back end, in the
 * foreground until Ctrl-C. State is kept in .cartenix/devnet (delete it for a fresh chain).
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { repoRoot } from '../dapp/nix/env.ts'
import { startDevnet } from './devnode/devnet.ts'

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: join(repoRoot, '.cartenix', 'devnet') },
    'epoch-length': { type: 'string', default: '1' },
    'no-backend': { type: 'boolean', default: false },
  },
})
const devnet = await startDevnet({
  dir: values.dir,
  epochLength: Number(values['epoch-length']),
  backend: !values['no-backend'],
  log: (line) => console.error(line),
})
console.log(`chain        ${devnet.chainUrl} (chain id ${devnet.deployment.chainId})
rollup API   ${devnet.rollupUrl}   (ROLLUP_HTTP_SERVER_URL for a back end)
JSON-RPC     ${devnet.nodeUrl}/rpc
inspect      ${devnet.nodeUrl}/inspect/${devnet.deployment.application}
application  ${devnet.deployment.application}
InputBox     ${devnet.deployment.inputBox}
EtherPortal  ${devnet.deployment.etherPortal}
Authority    ${devnet.deployment.authority}`)
const shutdown = async () => {
  await devnet.stop()
  process.exit(0)
}
process.once('SIGINT', shutdown)
process.once('SIGTERM', shutdown)
