/**
 * `npm run image [-- --attrs hello,lua] [--fresh]`: builds the riscv64 root file system and its
 * ext2 image (outside the work tree, see imageTreeDir in image/rootfs/build.ts), and prints their sizes.
 */
import { parseArgs } from 'node:util'
import { buildImage } from '../image/rootfs/build.ts'

const { values } = parseArgs({ options: { attrs: { type: 'string' }, fresh: { type: 'boolean', default: false } } })
const started = Date.now()
const result = await buildImage({
  attrs: values.attrs?.split(',').filter(Boolean),
  fresh: values.fresh,
  log: (line) => console.error(line),
})
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
console.log(`root file system  ${result.rootfs}  ${mib(result.rootfsBytes)}`)
console.log(`ext2 image        ${result.ext2}  ${mib(result.ext2Bytes)}`)
console.log(`built in ${((Date.now() - started) / 1000).toFixed(0)} s`)
