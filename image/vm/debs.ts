/**
 * The riscv64 .debs the VM's kernel and initramfs are made from, pinned by name, version, file
 * and sha256 in `image/vm/lock.json`, fetched straight from the Debian mirror (no riscv64 root,
 * no mmdebstrap) into a cache outside the work tree, and unpacked with `dpkg-deb -x`.
 *
 * The lock is refreshed with a private apt configuration (its own sources list, lists and
 * status file, under the cache), so the host's apt is neither read nor changed.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { exec } from '../../scripts/lib/exec.ts'
import { privateAptOptions } from '../../scripts/lib/apt.ts'
import { cacheDir } from '../../scripts/lib/cache.ts'

export type VmPackage = { package: string; version: string; filename: string; sha256: string; size: number }
export type VmLock = { arch: 'riscv64'; suite: string; mirror: string; roots: string[]; packages: VmPackage[] }

export const vmLockPath = join(dirname(fileURLToPath(import.meta.url)), 'lock.json')

/** Downloads, unpacked trees and scratch files; outside the work tree so `git clean` keeps them. */
export const vmCache = cacheDir('vm')

export async function readVmLock(): Promise<VmLock> {
  return JSON.parse(await readFile(vmLockPath, 'utf8')) as VmLock
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

const exists = (path: string) => stat(path).then(() => true, () => false)

/** Downloads one pinned .deb into the cache (once) and checks its sha256. */
export async function fetchPinned(lock: VmLock, pkg: VmPackage): Promise<string> {
  const dir = join(vmCache, 'debs')
  await mkdir(dir, { recursive: true })
  const path = join(dir, basename(pkg.filename))
  if ((await exists(path)) && (await sha256File(path)) === pkg.sha256) return path
  const url = `${lock.mirror}/${pkg.filename}`
  const response = await fetch(url)
  if (!response.ok) {
    throw new Error(
      `GET ${url}: ${response.status}. ${response.status === 404 ? `${pkg.package} ${pkg.version} has left the mirror: refresh image/vm/lock.json (npx tsx image/vm/probe.ts lock)` : ''}`,
    )
  }
  const bytes = Buffer.from(await response.arrayBuffer())
  const actual = createHash('sha256').update(bytes).digest('hex')
  if (actual !== pkg.sha256) throw new Error(`sha256 mismatch for ${url}: expected ${pkg.sha256}, got ${actual}`)
  await writeFile(`${path}.part`, bytes)
  await rename(`${path}.part`, path)
  return path
}

/** Unpacks a pinned .deb once into the cache; the directory is named by the .deb's sha256. */
export async function unpackPinned(lock: VmLock, name: string): Promise<string> {
  const pkg = lock.packages.find((p) => p.package === name)
  if (!pkg) throw new Error(`${name} is not in image/vm/lock.json`)
  const deb = await fetchPinned(lock, pkg)
  const dir = join(vmCache, 'unpacked', pkg.sha256)
  if (await exists(join(dir, '.done'))) return dir
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  await exec('dpkg-deb', ['-x', deb, dir])
  await writeFile(join(dir, '.done'), '')
  return dir
}

/** apt options for a private configuration of one suite and architecture (nothing of the host's). */
const privateApt = (lock: Pick<VmLock, 'arch' | 'suite' | 'mirror'>) =>
  privateAptOptions({ root: join(vmCache, 'apt', `${lock.suite}-${lock.arch}`), arch: lock.arch, suite: lock.suite, mirror: lock.mirror })

/**
 * Resolves the roots to exact packages. Only the packages named are pinned, not their
 * dependencies: the kernel image's Depends (kmod, initramfs-tools, ...) serve an installed system,
 * and nothing here installs it; the .debs are only unpacked.
 */
export async function resolveVmLock(base: Pick<VmLock, 'arch' | 'suite' | 'mirror' | 'roots'>): Promise<VmLock> {
  const apt = await privateApt(base)
  await exec('apt-get', [...apt, 'update', '-qq'])
  const packages: VmPackage[] = []
  for (const root of base.roots) {
    let name = root
    // A metapackage (linux-image-riscv64) is followed to the versioned package it depends on.
    for (;;) {
      const { stdout: record } = await exec('apt-cache', [...apt, 'show', '--no-all-versions', `${name}:${base.arch}`])
      const field = (key: string) => new RegExp(`^${key}: (.*)$`, 'm').exec(record)?.[1]
      const installedSize = Number(field('Installed-Size') ?? '0')
      const dep = /^linux-image-[a-z0-9]+$/.test(name) ? /^Depends: (linux-image-[^ ,]+)/m.exec(record)?.[1] : undefined
      if (dep && installedSize < 100) {
        name = dep
        continue
      }
      packages.push({
        package: name,
        version: field('Version') ?? '',
        filename: field('Filename') ?? '',
        sha256: field('SHA256') ?? '',
        size: Number(field('Size')),
      })
      break
    }
  }
  return { ...base, arch: 'riscv64', roots: [...base.roots], packages }
}
