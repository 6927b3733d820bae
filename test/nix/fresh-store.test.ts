import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runNix } from '../../dapp/nix/env.ts'
import { instantiate } from '../../dapp/nix/instantiate.ts'
import { readSourceLock } from '../../dapp/nix/sources.ts'
import { readSeedLock } from '../../image/seed/lock.ts'
import { seedStorePaths } from '../../image/seed/index.ts'
import { fixedOutputPath } from '../../dapp/nix/store.ts'
import { exec } from '../../dapp/lib/exec.ts'

/**
 * The first run on a fresh machine: no /nix at all. Each test makes an empty store of its own
 * (a chroot store, `local?root=DIR`: the same /nix/store paths, kept under DIR), so the machine's
 * own store is never touched.
 */
const repo = fileURLToPath(new URL('../../', import.meta.url))

describe('a fresh Nix store', () => {
  let scratch: string
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'cartenix-fresh-store-'))
  })
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true })
  })

  it('is created once when many Nix commands start on it at the same time', async () => {
    // Without the one-at-first initialisation, a few in a hundred such starts left
    // "'/nix/var/nix/db/schema' is corrupt" behind (seen from a shell; from here the race is
    // rarer still, so this guards against regressions rather than proving the fix each run).
    for (const round of [1, 2, 3]) {
      const env = { NIX_REMOTE: `local?root=${join(scratch, `race-${round}`)}` }
      const paths = await Promise.all(
        Array.from({ length: 12 }, (_, i) => runNix('nix-store', ['--print-fixed-path', 'sha256', 'ab'.repeat(32), `race-${i}`], { env })),
      )
      expect(paths.map((p) => p.stdout.trim())).toHaveLength(12)
      const { stdout } = await runNix('nix-store', ['--verify'], { env })
      expect(stdout).not.toContain('corrupt')
    }
  })

  it('is set up by `npm run setup` in one run, with every source and the seed, and evaluates as the main store does', async () => {
    const NIX_REMOTE = `local?root=${join(scratch, 'setup')}`
    const env = { ...process.env, NIX_REMOTE }
    const { stderr } = await exec(process.execPath, ['--import', 'tsx', join(repo, 'scripts/setup.ts')], { cwd: repo, env })
    expect(stderr).toMatch(/setup: ready in/)
    const sources = await Promise.all(
      (await readSourceLock()).map((s) => fixedOutputPath({ name: s.name, sha256: s.sha256, mode: 'flat' })),
    )
    const seed = await seedStorePaths(await readSeedLock('amd64'))
    // --check-validity exits non-zero when a path is not valid in that store.
    await runNix('nix-store', ['--check-validity', ...sources, seed.tarball, seed.busybox], { env: { NIX_REMOTE } })
    // Pure evaluation adds the package set to the scratch store and gives the same derivation.
    const { stdout } = await exec(process.execPath, ['--import', 'tsx', join(repo, 'test/nix/evaluate-requests.ts')], {
      cwd: repo,
      env,
      input: JSON.stringify([JSON.stringify({ attr: 'hello' })]),
    })
    const [inMain] = await instantiate({ attr: 'hello' }, { system: 'x86_64-linux' })
    expect(JSON.parse(stdout)).toEqual([{ drvPaths: [inMain] }])
    // A second run only checks.
    const again = await exec(process.execPath, ['--import', 'tsx', join(repo, 'scripts/setup.ts')], { cwd: repo, env })
    expect(again.stderr).not.toMatch(/source .*: from Debian|seed .*: fetching/)
  })
})
