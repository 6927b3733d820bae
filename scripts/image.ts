/**
 * `npm run image [-- --attrs hello,lua] [--fresh]`: builds the riscv64 root file system and its
 * ext2 image (outside the work tree, see imageTreeDir in image/rootfs/build.ts), and prints their
 * sizes and the image's sha256.
 *
 * `npm run image -- lock`: re-pins the tree's Debian packages (image/rootfs/lock.json) to what the
 * mirror has today; commit the lock, and the next `npm run image` makes a new tree from it.
 *
 * `npm run image -- vm-lock`: the same for the .debs the VM's kernel and initramfs are made from
 * (image/vm/lock.json: the kernel and busybox), the VM that `--machine riscv64` boots.
 */
import { parseArgs } from 'node:util'
import type { DebPackage } from '../image/host/debs.ts'
import { buildImage, machinePackages } from '../image/rootfs/build.ts'
import { readTreeLock, refreshTreeLock, treeLockRefresh } from '../image/rootfs/lock.ts'
import { readVmLock, refreshVmLock, vmLockRefresh, vmRoots } from '../image/vm/lock.ts'

const usage = `usage: npm run image [-- --attrs hello,lua] [--fresh]   the riscv64 root file system and its image (--fresh: make the tree anew)
       npm run image -- lock                        re-pin the tree's Debian packages (image/rootfs/lock.json)
       npm run image -- vm-lock                     re-pin the VM's kernel and busybox (image/vm/lock.json)`

const parsed = (() => {
  try {
    return parseArgs({ allowPositionals: true, options: { attrs: { type: 'string' }, fresh: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } })
  } catch (error) {
    console.error(`npm run image: ${(error as Error).message}\n${usage}`)
    process.exit(2)
  }
})()
const { values, positionals } = parsed
if (values.help) {
  console.log(usage)
  process.exit(0)
}
const log = (line: string) => console.error(line)
const started = Date.now()
const defaults = { suite: 'trixie', mirror: 'http://deb.debian.org/debian' }

/** `image/vm/lock.json: 2 packages, 1 new or changed: busybox-static 1:1.37.0-6+b10` */
function lockSummary(lockFile: string, previous: readonly DebPackage[] | undefined, packages: readonly DebPackage[]): string {
  if (!previous) return `${lockFile}: ${packages.length} packages`
  const before = new Map(previous.map((p) => [p.package, p.version]))
  const changed = packages.filter((p) => before.get(p.package) !== p.version)
  return `${lockFile}: ${packages.length} packages, ${changed.length} new or changed${changed.length ? `: ${changed.map((p) => `${p.package} ${p.version}`).join(', ')}` : ''}`
}

if (positionals[0] === 'lock' && positionals.length === 1) {
  const previous = await readTreeLock().catch(() => undefined)
  const lock = await refreshTreeLock({ suite: previous?.suite ?? defaults.suite, mirror: previous?.mirror ?? defaults.mirror, roots: [...machinePackages] }, log)
  console.log(lockSummary(treeLockRefresh.lockFile, previous?.packages, lock.packages))
} else if (positionals[0] === 'vm-lock' && positionals.length === 1) {
  const previous = await readVmLock().catch(() => undefined)
  const lock = await refreshVmLock({ suite: previous?.suite ?? defaults.suite, mirror: previous?.mirror ?? defaults.mirror, roots: [...vmRoots] }, log)
  console.log(lockSummary(vmLockRefresh.lockFile, previous?.packages, lock.packages))
} else if (positionals.length > 0) {
  console.error(usage)
  process.exitCode = 2
} else {
  const result = await buildImage({ attrs: values.attrs?.split(',').filter(Boolean), fresh: values.fresh, log })
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
  console.log(`root file system  ${result.rootfs}  ${mib(result.rootfsBytes)}`)
  console.log(`ext2 image        ${result.ext2}  ${mib(result.ext2Bytes)}  sha256 ${result.ext2Sha256}`)
  console.log(`built in ${((Date.now() - started) / 1000).toFixed(0)} s`)
}
