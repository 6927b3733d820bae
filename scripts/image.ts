/**
 * `npm run image [-- --attrs hello,lua] [--fresh]`: builds the riscv64 root file system and its
 * ext2 image (outside the work tree, see imageTreeDir in image/rootfs/build.ts), and prints their
 * sizes and the image's sha256.
 *
 * `npm run image -- lock`: re-pins the tree's Debian packages (image/rootfs/lock.json) to what the
 * mirror has today; commit the lock, and the next `npm run image` makes a new tree from it.
 */
import { parseArgs } from 'node:util'
import { buildImage, machinePackages } from '../image/rootfs/build.ts'
import { readTreeLock, refreshTreeLock, treeLockRefresh } from '../image/rootfs/lock.ts'

const { values, positionals } = parseArgs({ allowPositionals: true, options: { attrs: { type: 'string' }, fresh: { type: 'boolean', default: false } } })
const log = (line: string) => console.error(line)
const started = Date.now()

if (positionals[0] === 'lock') {
  const previous = await readTreeLock().catch(() => undefined)
  const lock = await refreshTreeLock({ suite: previous?.suite ?? 'trixie', mirror: previous?.mirror ?? 'http://deb.debian.org/debian', roots: [...machinePackages] }, log)
  const before = new Map(previous?.packages.map((p) => [p.package, p.version]))
  const changed = lock.packages.filter((p) => before.get(p.package) !== p.version)
  console.log(`${treeLockRefresh.lockFile}: ${lock.packages.length} packages${previous ? `, ${changed.length} new or changed${changed.length ? `: ${changed.map((p) => `${p.package} ${p.version}`).join(", ")}` : ""}` : ""}`)
} else if (positionals.length > 0) {
  console.error('usage: npm run image [-- --attrs hello,lua] [--fresh]  |  npm run image -- lock')
  process.exitCode = 2
} else {
  const result = await buildImage({ attrs: values.attrs?.split(',').filter(Boolean), fresh: values.fresh, log })
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
  console.log(`root file system  ${result.rootfs}  ${mib(result.rootfsBytes)}`)
  console.log(`ext2 image        ${result.ext2}  ${mib(result.ext2Bytes)}  sha256 ${result.ext2Sha256}`)
  console.log(`built in ${((Date.now() - started) / 1000).toFixed(0)} s`)
}
