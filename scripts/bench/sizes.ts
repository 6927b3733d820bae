/**
 * The `sizes` section: what the machine has to carry. Store sizes are NAR sizes as Nix records them
 * (`nix-store -q --size`), the same for every file system; the image's sizes are what they take on
 * this disk, when the image has been built.
 */
import { stat } from 'node:fs/promises'
import { runNix } from '../../dapp/nix/env.ts'
import { invalidPaths } from '../../dapp/nix/store.ts'
import { readSeedLock } from '../../image/seed/lock.ts'
import { seedStorePaths } from '../../image/seed/index.ts'
import { sourceStatus } from '../../dapp/nix/sources.ts'
import { exec } from '../../dapp/lib/exec.ts'
import type { Row, SectionResult } from './report.ts'
import { bytes, count } from './stats.ts'
import { outputsOf } from './store.ts'
import { ext2Path, rootfsDir } from '../../image/rootfs/build.ts'


/** NAR sizes of valid store paths, in order. */
async function narSizes(paths: readonly string[]): Promise<number[]> {
  if (paths.length === 0) return []
  const { stdout } = await runNix('nix-store', ['--query', '--size', ...paths])
  return stdout.split('\n').filter(Boolean).map(Number)
}

const row = (what: string, figure: string | undefined): Row =>
  figure === undefined ? { section: 'sizes', what, figure: 'absent', target: '', status: 'not measured' } : { section: 'sizes', what, figure, target: '', status: 'no target' }

export async function benchSizes(): Promise<SectionResult> {
  const data: Record<string, unknown> = {}
  const rows: Row[] = []

  const seed = await seedStorePaths(await readSeedLock('amd64'))
  const unpacked = (await outputsOf({ attr: 'seed' })).outputs[0]
  const candidates = [seed.tarball, ...(unpacked ? [unpacked] : [])]
  const invalid = await invalidPaths(candidates)
  if (!invalid.has(seed.tarball)) {
    const file = (await stat(seed.tarball)).size
    const [nar = 0] = await narSizes([seed.tarball])
    data.seedTarball = { path: seed.tarball, fileBytes: file, narBytes: nar }
    rows.push(row('seed tarball (amd64)', `${bytes(file)} file, ${bytes(nar)} NAR`))
  } else {
    rows.push(row('seed tarball (amd64)', undefined))
  }
  if (unpacked && !invalid.has(unpacked)) {
    const [nar = 0] = await narSizes([unpacked])
    data.seedUnpacked = { path: unpacked, narBytes: nar }
    rows.push(row('seed unpacked (amd64)', `${bytes(nar)} NAR`))
  } else {
    rows.push(row('seed unpacked (amd64)', undefined))
  }

  const sources = await sourceStatus()
  const present = sources.filter((s) => s.present)
  const sizes = await narSizes(present.map((s) => s.storePath))
  const total = sizes.reduce((a, b) => a + b, 0)
  data.sources = { locked: sources.length, present: present.length, narBytes: total, each: present.map((s, i) => ({ path: s.storePath, narBytes: sizes[i] })) }
  rows.push(row('locked sources', `${bytes(total)} NAR, ${count(present.length)} of ${count(sources.length)} in the store`))

  // -x: stay on the rootfs's own file system; a chroot may have /proc and /dev mounted inside it.
  const rootfs = rootfsDir
  if (await stat(rootfs).then((s) => s.isDirectory(), () => false)) {
    const { stdout } = await exec('du', ['-sx', '--block-size=1', rootfs])
    const used = Number(stdout.split('\t')[0])
    data.rootfs = { path: rootfs, diskBytes: used }
    rows.push(row('image rootfs (du -sx)', bytes(used)))
  } else {
    rows.push(row('image rootfs (du -sx)', undefined))
  }
  const ext2 = ext2Path
  const image = await stat(ext2).catch(() => undefined)
  if (image) {
    data.rootfsExt2 = { path: ext2, fileBytes: image.size, diskBytes: image.blocks * 512 }
    rows.push(row('image rootfs.ext2', `${bytes(image.size)} file, ${bytes(image.blocks * 512)} on disk`))
  } else {
    rows.push(row('image rootfs.ext2', undefined))
  }
  return { rows, data, notes: ['Sizes: store paths by NAR size (nix-store -q --size); the image by disk usage.'] }
}
