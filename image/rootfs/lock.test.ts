/**
 * The root file system's lock: the local archive `npm run image` hands mmdebstrap offers apt
 * exactly the locked packages, the lock is closed under their dependencies (apt, asked for the
 * Essential set and the roots on an empty riscv64 system, picks the lock and nothing else), and a
 * tree whose dpkg status strays from the lock is refused with each difference named.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { privateAptOptions } from '../host/apt.ts'
import { exec } from '../../dapp/lib/exec.ts'
import { essentialPackages, resolveDebClosure } from '../host/debs.ts'
import { checkTreePackages, pinnedArchive, readTreeLock, type TreeLock } from './lock.ts'

let lock: TreeLock
let scratch: string

beforeAll(async () => {
  lock = await readTreeLock()
  scratch = await mkdtemp(join(tmpdir(), 'cartenix-tree-lock-'))
})

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true })
})

describe('the local archive of the locked packages', () => {
  it('offers apt the locked versions only, and they are closed under their dependencies', async () => {
    const source = await pinnedArchive(lock, join(scratch, 'archive'))
    // The archive as apt reads it, file:// here (mmdebstrap gets copy://, the same files).
    const apt = await privateAptOptions({ root: join(scratch, 'apt'), arch: lock.arch, suite: lock.suite, mirror: 'unused' })
    await writeFile(join(scratch, 'apt/etc/apt/sources.list'), `${source.replace('copy://', 'file://')}\n`)
    await exec('apt-get', [...apt, 'update', '-qq'])
    const { stdout: policy } = await exec('apt-cache', [...apt, 'policy', ...lock.roots])
    for (const root of lock.roots) {
      const version = lock.packages.find((p) => p.package === root)?.version
      expect(policy).toContain(`Candidate: ${version}`)
    }
    const essential = await essentialPackages(apt)
    expect(essential).toContain('dpkg')
    const resolved = await resolveDebClosure(apt, lock.arch, [...essential, ...lock.roots])
    expect(resolved.map((p) => `${p.package} ${p.version} ${p.sha256}`)).toEqual(lock.packages.map((p) => `${p.package} ${p.version} ${p.sha256}`))
  }, 300_000)
})

describe('checkTreePackages', () => {
  const status = (packages: { package: string; version: string }[]) =>
    packages.map((p) => `Package: ${p.package}\nStatus: install ok installed\nArchitecture: riscv64\nVersion: ${p.version}\n`).join('\n')

  async function treeWith(name: string, packages: { package: string; version: string }[]): Promise<string> {
    const root = join(scratch, name)
    await mkdir(join(root, 'var/lib/dpkg'), { recursive: true })
    await writeFile(join(root, 'var/lib/dpkg/status'), status(packages))
    return root
  }

  it('accepts a tree with exactly the locked packages', async () => {
    await expect(checkTreePackages(await treeWith('exact', lock.packages), lock)).resolves.toBeUndefined()
  })

  it('names every package that is missing, at another version, or not in the lock', async () => {
    const [first, second, ...rest] = lock.packages
    if (!first || !second) throw new Error('the lock has fewer than two packages')
    const root = await treeWith('strayed', [{ package: second.package, version: `${second.version}+local1` }, ...rest, { package: 'sl', version: '5.02-1' }])
    const error = await checkTreePackages(root, lock).catch((e: unknown) => e)
    expect(String(error)).toContain(`${first.package} ${first.version} is missing`)
    expect(String(error)).toContain(`${second.package} is ${second.version}+local1, the lock has ${second.version}`)
    expect(String(error)).toContain('sl 5.02-1 is not in the lock')
    expect(String(error)).toContain('npm run image -- --fresh')
  })

  it('refuses a directory that is no Debian tree', async () => {
    await expect(checkTreePackages(join(scratch, 'nothing'), lock)).rejects.toThrow(/no dpkg status/)
  })
})
