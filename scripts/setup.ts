/**
 * `npm run setup` (also run before `npm test`): installs what Cartenix needs on a Debian host and
 * puts the locked sources and the seed in the Nix store. Idempotent; a second run only checks.
 */
import { exec } from '../dapp/lib/exec.ts'
import { ensureApt } from '../image/host/apt.ts'
import { initialiseStore } from '../dapp/nix/env.ts'
import { ensureSources } from '../image/sources.ts'
import { ensureSeed } from '../image/seed/index.ts'
import { seedArch } from '../image/seed/recipe.ts'

const log = (line: string) => console.error(`setup: ${line}`)
const started = Date.now()

if (process.getuid?.() !== 0) {
  console.error('setup: must run as root (it installs Debian packages and uses /nix/store without a daemon)')
  process.exit(1)
}
await ensureApt(log)
// Before anything runs Nix commands side by side: a fresh store must be made by one of them.
await initialiseStore()
const arch = seedArch.parse((await exec('dpkg', ['--print-architecture'])).stdout.trim())
await ensureSources({ log })
await ensureSeed(arch, log)
log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`)
