/**
 * The riscv64 .debs the VM's kernel and initramfs are made from, pinned by name, version, file
 * and sha256 in `image/vm/lock.json`, fetched straight from the Debian mirror (no riscv64 root,
 * no mmdebstrap) into the artefacts directory outside the work tree (image/host/artefacts.ts),
 * and unpacked with `dpkg-deb -x`.
 *
 * `npm run image -- vm-lock` re-resolves the lock against the mirror as it is today, with a
 * private apt configuration (its own sources list, lists and status file, under the artefacts
 * directory), so the host's apt is neither read nor changed.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exec } from '../../dapp/lib/exec.ts'
import { imageDir } from '../../dapp/lib/paths.ts'
import { artefactsDir } from '../host/artefacts.ts'
import { controlField, describeDebs, fetchPinnedDeb, privateApt, readDebLock, writeDebLock, type DebLock, type LockRefresh } from '../host/debs.ts'

/** The roots are the kernel's metapackage and busybox; each is pinned alone, without dependencies (see resolveVmLock). */
export type VmLock = DebLock

/** The kernel and the initramfs's only program. */
export const vmRoots = ['linux-image-riscv64', 'busybox-static'] as const

export const vmLockPath = join(imageDir, 'vm', 'lock.json')

/**
 * The VM's part of the artefacts directory: the unpacked .debs and the initramfs; outside the
 * work tree so `git clean` keeps them.
 */
export const vmArtefactsDir = artefactsDir('vm')

export const vmLockRefresh: LockRefresh = { command: 'npm run image -- vm-lock', lockFile: 'image/vm/lock.json' }

export const readVmLock = (path: string = vmLockPath): Promise<VmLock> => readDebLock(path, vmLockRefresh)

const exists = (path: string) => stat(path).then(() => true, () => false)

/** Unpacks a pinned .deb once into the artefacts directory; the directory is named by the .deb's sha256. */
export async function unpackPinned(lock: VmLock, name: string): Promise<string> {
  const pkg = lock.packages.find((p) => p.package === name)
  if (!pkg) throw new Error(`${name} is not in ${vmLockRefresh.lockFile}`)
  const deb = await fetchPinnedDeb(lock, pkg, vmLockRefresh)
  const dir = join(vmArtefactsDir, 'unpacked', pkg.sha256)
  if (await exists(join(dir, '.done'))) return dir
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  await exec('dpkg-deb', ['-x', deb, dir])
  await writeFile(join(dir, '.done'), '')
  return dir
}

/**
 * Resolves the roots to exact packages. Only the packages named are pinned, not their
 * dependencies: the kernel image's Depends (kmod, initramfs-tools, ...) serve an installed system,
 * and nothing here installs it; the .debs are only unpacked.
 */
async function resolveVmLock(base: Pick<VmLock, 'suite' | 'mirror' | 'roots'>): Promise<VmLock> {
  const arch = 'riscv64' as const
  const apt = await privateApt({ arch, suite: base.suite, mirror: base.mirror })
  const names: string[] = []
  for (const root of base.roots) {
    let name = root
    // A metapackage (linux-image-riscv64) is followed to the versioned package it depends on.
    for (;;) {
      const { stdout: record } = await exec('apt-cache', [...apt, 'show', '--no-all-versions', `${name}:${arch}`])
      const installedSize = Number(controlField(record, 'Installed-Size') ?? '0')
      const dep = /^linux-image-[a-z0-9]+$/.test(name) ? /^Depends: (linux-image-[^ ,]+)/m.exec(record)?.[1] : undefined
      if (!dep || installedSize >= 100) break
      name = dep
    }
    names.push(name)
  }
  // In the order of the roots, not sorted by name as describeDebs returns them: one per root.
  const packages = (await describeDebs(apt, arch, names)).sort((a, b) => names.indexOf(a.package) - names.indexOf(b.package))
  return { arch, suite: base.suite, mirror: base.mirror, roots: [...base.roots], packages }
}

/** Resolves the roots against the mirror today, and writes the lock. */
export async function refreshVmLock(base: Pick<VmLock, 'suite' | 'mirror' | 'roots'>, log: (line: string) => void = () => {}): Promise<VmLock> {
  log(`VM lock: resolving ${base.roots.join(', ')} in ${base.suite}`)
  return writeDebLock(vmLockPath, await resolveVmLock(base))
}
