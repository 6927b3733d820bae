/**
 * A devnet in a process of its own, for tests that kill it the way the OOM killer would:
 *
 *   node --import tsx test/faults/devnet-process.ts DIR CHAIN_PORT ROLLUP_PORT NODE_PORT
 *
 * Prints one JSON line (URLs and addresses) once the devnet runs, logs to stderr, and stops on
 * SIGTERM. A devnet that cannot start prints its error to stderr and exits 1.
 */
import { startDevnet } from '../../scripts/devnode/devnet.ts'

const [dir, chainPort, rollupPort, nodePort] = process.argv.slice(2)
if (!dir || !chainPort || !rollupPort || !nodePort) {
  console.error('usage: devnet-process.ts DIR CHAIN_PORT ROLLUP_PORT NODE_PORT')
  process.exit(2)
}
const stopped = new Promise((resolve) => process.once('SIGTERM', resolve))
try {
  const devnet = await startDevnet({ dir, chainPort: Number(chainPort), rollupPort: Number(rollupPort), nodePort: Number(nodePort), log: (line) => console.error(line) })
  console.log(JSON.stringify({ chainUrl: devnet.chainUrl, nodeUrl: devnet.nodeUrl, rollupUrl: devnet.rollupUrl, deployment: devnet.deployment }))
  await stopped
  await devnet.stop()
} catch (error) {
  console.error(`devnet-process: ${(error as Error).message}`)
  process.exitCode = 1
}
