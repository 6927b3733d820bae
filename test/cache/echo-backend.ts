/**
 * A dishonest back end for the cache tests: each advance input's payload comes back as a notice,
 * byte for byte, and the input is accepted. A test sends a SourceAdded of its own making (say,
 * one whose store path is not the one its name, mode and sha256 give), and the dev node claims
 * it like any other notice, so that it validates on-chain. Run by the devnet in place of
 * dapp/main.ts (backendCommand), on ROLLUP_HTTP_SERVER_URL.
 */
import { createRollupClient } from '../../dapp/protocol/rollupClient.ts'

const url = process.env.ROLLUP_HTTP_SERVER_URL
if (!url) throw new Error('ROLLUP_HTTP_SERVER_URL is not set')
const rollup = createRollupClient(url)

for (;;) {
  const request = await rollup.finish('accept')
  if (request?.request_type === 'advance_state') await rollup.notice(request.data.payload)
}
