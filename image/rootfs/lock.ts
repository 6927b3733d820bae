/**
 * The root file system's Debian packages, pinned: `image/rootfs/lock.json` names every .deb of
 * the tree (the Essential set of the suite, and Node.js, Nix and busybox with their
 * dependencies) by version and sha256. `npm run image` installs exactly these: mmdebstrap reads
 * them from a local archive made of the pinned .debs and nothing else, and the tree's dpkg status
 * is checked against the lock afterwards. `npm run image -- lock` re-resolves the lock against the
 * mirror as it is today (Debian's main archive drops superseded versions, so a lock ages).
 */
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { createHash } from 'node:crypto'
import { exec } from '../../dapp/lib/exec.ts'
import { imageDir } from '../../dapp/lib/paths.ts'
import { controlField, essentialPackages, fetchPinnedDeb, privateApt, readDebLock, resolveDebClosure, writeDebLock, type DebLock, type LockRefresh } from '../host/debs.ts'

/** The roots are asked for on top of the suite's Essential set; the packages are all of the tree's. */
export type TreeLock = DebLock

export const treeLockPath = join(imageDir, 'rootfs', 'lock.json')
export const treeLockRefresh: LockRefresh = { command: 'npm run image -- lock', lockFile: 'image/rootfs/lock.json' }

export const readTreeLock = (path: string = treeLockPath): Promise<TreeLock> => readDebLock(path, treeLockRefresh)

/** Resolves the Essential set and the roots against the mirror today, and writes the lock. */
export async function refreshTreeLock(base: Pick<TreeLock, 'suite' | 'mirror' | 'roots'>, log: (line: string) => void = () => {}): Promise<TreeLock> {
  const archive = { arch: 'riscv64', suite: base.suite, mirror: base.mirror }
  const apt = await privateApt(archive)
  const essential = await essentialPackages(apt)
  log(`image lock: resolving ${essential.length} Essential packages and ${base.roots.join(', ')} in ${base.suite}`)
  const packages = await resolveDebClosure(apt, archive.arch, [...essential, ...base.roots])
  return writeDebLock(treeLockPath, { arch: 'riscv64', suite: base.suite, mirror: base.mirror, roots: [...base.roots], packages })
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * A Debian archive on disk holding exactly the locked .debs (fetched once, each checked against
 * its sha256), laid out like the mirror (dists/<suite>/main/binary-<arch>/Packages, pool/...), so
 * that apt, and mmdebstrap through it, can choose nothing else. Returns its sources.list line.
 */
export async function pinnedArchive(lock: TreeLock, dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true })
  const stanzas: string[] = []
  for (const pkg of lock.packages) {
    const deb = await fetchPinnedDeb(lock, pkg, treeLockRefresh)
    const target = join(dir, pkg.filename)
    await mkdir(dirname(target), { recursive: true })
    await link(deb, target).catch(() => exec('cp', [deb, target]))
    const { stdout: control } = await exec('dpkg-deb', ['--field', deb])
    stanzas.push(`${control.trimEnd()}\nFilename: ${pkg.filename}\nSize: ${pkg.size}\nSHA256: ${pkg.sha256}\n`)
  }
  const packages = stanzas.join('\n')
  const index = `main/binary-${lock.arch}/Packages`
  await mkdir(join(dir, 'dists', lock.suite, dirname(index)), { recursive: true })
  await writeFile(join(dir, 'dists', lock.suite, index), packages)
  const release = [
    'Origin: Cartenix',
    `Label: ${treeLockRefresh.lockFile}`,
    `Suite: ${lock.suite}`,
    `Codename: ${lock.suite}`,
    `Architectures: ${lock.arch}`,
    'Components: main',
    'SHA256:',
    ` ${sha256(packages)} ${Buffer.byteLength(packages)} ${index}`,
    '',
  ].join('\n')
  await writeFile(join(dir, 'dists', lock.suite, 'Release'), release)
  // Unsigned: every .deb in it was checked against the lock, which is what is trusted here.
  // copy:// rather than file://: apt copies the .debs into the tree, where dpkg must find them.
  return `deb [trusted=yes] copy://${dir} ${lock.suite} main`
}

/** The packages dpkg has installed in a tree, as `name version`. */
export async function installedPackages(rootfs: string): Promise<Map<string, string>> {
  const status = await readFile(join(rootfs, 'var/lib/dpkg/status'), 'utf8')
  const installed = new Map<string, string>()
  for (const stanza of status.split(/\n\n+/)) {
    const field = (key: string) => controlField(stanza, key)
    const name = field('Package')
    if (name && field('Status')?.endsWith(' installed')) installed.set(name, field('Version') ?? '')
  }
  return installed
}

/** Throws unless the tree has exactly the lock's packages at the lock's versions. */
export async function checkTreePackages(rootfs: string, lock: TreeLock): Promise<void> {
  if (!(await stat(join(rootfs, 'var/lib/dpkg/status')).then(() => true, () => false))) throw new Error(`${rootfs} has no dpkg status: not a Debian tree`)
  const installed = await installedPackages(rootfs)
  const wanted = new Map(lock.packages.map((p) => [p.package, p.version]))
  const problems: string[] = []
  for (const [name, version] of wanted) {
    const got = installed.get(name)
    if (got === undefined) problems.push(`${name} ${version} is missing`)
    else if (got !== version) problems.push(`${name} is ${got}, the lock has ${version}`)
  }
  for (const [name, version] of installed) if (!wanted.has(name)) problems.push(`${name} ${version} is not in the lock`)
  if (problems.length > 0) throw new Error(`The tree at ${rootfs} does not match ${treeLockRefresh.lockFile}: ${problems.join('; ')}. Make it anew from the lock: npm run image -- --fresh`)
}
