import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { listFixedOutputs } from '../../dapp/nix/fods.ts'
import { readSourceLock } from '../../dapp/nix/sources.ts'
import { readSeedLock } from '../../image/seed/lock.ts'
import { exec, CommandFailedError } from '../../dapp/lib/exec.ts'

const cli = fileURLToPath(new URL('../../bin/cartenix.js', import.meta.url))
const helloTarball = '/nix/store/3x7dwzq014bblazs7kq20p9hyzz0qh8g-hello-2.10.tar.gz'

describe('the FOD closure of a build', () => {
  it('is the seed plus exactly the sources a package uses', async () => {
    const seed = await readSeedLock('amd64')
    const sources = await readSourceLock()
    const lua = await listFixedOutputs({ attr: 'lua' }, { system: 'x86_64-linux' })
    expect(lua.map((f) => f.name).sort()).toEqual(
      [seed.outputs.tarball.name, seed.outputs.busybox.name, 'lua-5.4.4.tar.gz', 'ncurses-6.4.tar.gz', 'readline-8.2.tar.gz'].sort(),
    )
    for (const fod of lua.filter((f) => f.name.endsWith('.tar.gz') && !f.name.startsWith('cartenix-'))) {
      expect(fod.sha256).toBe(sources.find((s) => s.name === fod.name)?.sha256)
      expect(fod.mode).toBe('flat')
      expect(fod.present).toBe(true)
    }
    expect(lua.find((f) => f.name === seed.outputs.busybox.name)?.mode).toBe('recursive')
  })

  it('takes an expression over the package set as well as an attribute', async () => {
    const fromExpr = await listFixedOutputs({ expr: 'pkgs: [ pkgs.hello pkgs.readline ]' })
    expect(fromExpr.map((f) => f.name)).toEqual(expect.arrayContaining(['hello-2.10.tar.gz', 'ncurses-6.4.tar.gz', 'readline-8.2.tar.gz']))
    expect(fromExpr.map((f) => f.name)).not.toContain('lua-5.4.4.tar.gz')
  })
})

describe('cartenix fods', () => {
  it('lists the hello source as present, as JSON', async () => {
    const { stdout } = await exec(process.execPath, [cli, 'fods', 'hello', '--json'])
    const fods = JSON.parse(stdout) as { name: string; storePath: string; present: boolean }[]
    expect(fods.find((f) => f.name === 'hello-2.10.tar.gz')).toMatchObject({ storePath: helloTarball, present: true })
  })

  it('exits 1 naming what is missing, and 2 on a wrong command line', async () => {
    const expr = `pkgs: pkgs.fixedOutput { name = "absent-0.1.tar.gz"; url = "https://example.invalid/absent-0.1.tar.gz"; sha256 = "${'ab'.repeat(32)}"; }`
    const missing = await exec(process.execPath, [cli, 'fods', '--expr', expr]).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(CommandFailedError)
    expect((missing as CommandFailedError).exitCode).toBe(1)
    expect((missing as CommandFailedError).stderr).toContain('1 of 1 fixed-output sources are missing')
    expect((missing as CommandFailedError).stderr).toContain(`npx cartenix upload <file with sha256 ${'ab'.repeat(32)}> --name absent-0.1.tar.gz`)
    const usage = await exec(process.execPath, [cli, 'fods']).catch((e: unknown) => e)
    expect((usage as CommandFailedError).exitCode).toBe(2)
  })
})
