/**
 * The seed of tools: `npm run seed -- lock --arch amd64` re-pins its Debian packages and records
 * the resulting hashes; `npm run seed -- build --arch amd64` puts the locked seed in the store.
 */
import { parseArgs } from 'node:util'
import { ensureSeed, refreshSeedLock } from '../image/seed/index.ts'
import { seedArch } from '../image/seed/recipe.ts'

const { positionals, values } = parseArgs({ allowPositionals: true, options: { arch: { type: 'string', default: 'amd64' } } })
const arch = seedArch.parse(values.arch)
const log = (line: string) => console.error(line)

switch (positionals[0]) {
  case 'lock': {
    const lock = await refreshSeedLock(arch, log)
    console.log(`image/seed/${arch}.lock.json: ${lock.packages.length} packages, tarball sha256 ${lock.outputs.tarball.sha256}`)
    break
  }
  case 'build': {
    const paths = await ensureSeed(arch, log)
    console.log(`${paths.tarball}\n${paths.busybox}`)
    break
  }
  default:
    console.error('usage: npm run seed -- lock|build [--arch amd64|riscv64]')
    process.exit(2)
}
