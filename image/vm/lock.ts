/**
 * The riscv64 .debs the VM's kernel and initramfs are made from, pinned by name, version, file
 * and sha256 in `image/vm/lock.json`, fetched straight from the Debian mirror (no riscv64 root,
 * no mmdebstrap) into a cache outside the work tree, and unpacked with `dpkg-deb -x`.
 *
 * The lock is refreshed with a private apt configuration (its own sources list, lists and
 * status file, under the cache), so the host's apt is neither read nor changed.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { exec } from '../../dapp/lib/exec.ts'
import { artefactsDir } from '../host/artefacts.ts'
import { controlField, describeDebs, fetchPinnedDeb, privateApt, type DebPackage, type LockRefresh } from '../host/debs.ts'

export type VmLock = { arch: 'riscv64'; suite: string; mirror: string; roots: string[]; packages: DebPackage[] }

export const vmLockPath = join(dirname(fileURLToPath(import.meta.url)), 'lock.json')

/** Unpacked trees and scratch files; outside the work tree so `git clean` keeps them. */
export const vmCache = artefactsDir('vm')

const vmLockRefresh: LockRefresh = { command: 'npx tsx image/vm/probe.ts lock', lockFile: 'image/vm/lock.json' }

export async function readVmLock(): Promise<VmLock> {
  return JSON.parse(await readFile(vmLockPath, 'utf8')) as VmLock
}

const exists = (path: string) => stat(path).then(() => true, () => false)

/** Unpacks a pinned .deb once into the cache; the directory is named by the .deb's sha256. */
export async function unpackPinned(lock: VmLock, name: string): Promise<string> {
  const pkg = lock.packages.find((p) => p.package === name)
  if (!pkg) throw new Error(`${name} is not in image/vm/lock.json`)
  const deb = await fetchPinnedDeb(lock, pkg, vmLockRefresh)
  const dir = join(vmCache, 'unpacked', pkg.sha256)
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
export async function resolveVmLock(base: Pick<VmLock, 'arch' | 'suite' | 'mirror' | 'roots'>): Promise<VmLock> {
  const apt = await privateApt(base)
  const names: string[] = []
  for (const root of base.roots) {
    let name = root
    // A metapackage (linux-image-riscv64) is followed to the versioned package it depends on.
    for (;;) {
      const { stdout: record } = await exec('apt-cache', [...apt, 'show', '--no-all-versions', `${name}:${base.arch}`])
      const installedSize = Number(controlField(record, 'Installed-Size') ?? '0')
      const dep = /^linux-image-[a-z0-9]+$/.test(name) ? /^Depends: (linux-image-[^ ,]+)/m.exec(record)?.[1] : undefined
      if (!dep || installedSize >= 100) break
      name = dep
    }
    names.push(name)
  }
  return { ...base, arch: 'riscv64', roots: [...base.roots], packages: await describeDebs(apt, base.arch, names) }
}
