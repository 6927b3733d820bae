import { describe, expect, it } from 'vitest'
import { assembleSeed } from '../../image/seed/build.ts'
import { fetchPinnedDeb, PinnedPackageGoneError } from '../../image/host/debs.ts'
import { readSeedLock, seedLockRefresh } from '../../image/seed/lock.ts'
import { seedRecipe } from '../../image/seed/recipe.ts'
import { ensureSeed, seedStorePaths } from '../../image/seed/index.ts'
import { invalidPaths } from '../../dapp/nix/store.ts'

describe('the seed of tools', () => {
  it('is in the store at the paths its lock implies', async () => {
    const lock = await readSeedLock('amd64')
    const paths = await ensureSeed('amd64')
    expect(paths).toEqual(await seedStorePaths(lock))
    expect(await invalidPaths([paths.tarball, paths.busybox])).toEqual(new Set())
  })

  it('is rebuilt byte for byte from its lock', async () => {
    const lock = await readSeedLock('amd64')
    const artifacts = await assembleSeed(seedRecipe('amd64'), lock, () => {})
    expect(artifacts.tarballSha256).toBe(lock.outputs.tarball.sha256)
  })

  it('says which command refreshes the lock when a pinned package has left the mirror', async () => {
    const lock = await readSeedLock('amd64')
    const real = lock.packages.find((p) => p.package === 'hello') ?? lock.packages[0]
    if (!real) throw new Error('empty seed lock')
    const gone = { ...real, version: '0.0-gone', filename: real.filename.replace(/_[^_]+_/, '_0.0-gone_') }
    const error = await fetchPinnedDeb(lock, gone, seedLockRefresh('amd64')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PinnedPackageGoneError)
    expect(String(error)).toContain('npm run seed -- lock --arch amd64')
  })
})
