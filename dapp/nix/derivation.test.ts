import { access, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseDerivationOutputs, readDerivationOutputs, storePathName } from './derivation.ts'
import { runNix } from './env.ts'

describe('parseDerivationOutputs', () => {
  it('reads a fixed output and its hash mode', () => {
    const aterm =
      'Derive([("out","/nix/store/3x7dwzq014bblazs7kq20p9hyzz0qh8g-hello-2.10.tar.gz","sha256","31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b")],[],[],"builtin","builtin:fetchurl",[],[])'
    expect(parseDerivationOutputs(aterm)).toEqual([
      {
        name: 'out',
        path: '/nix/store/3x7dwzq014bblazs7kq20p9hyzz0qh8g-hello-2.10.tar.gz',
        hashAlgo: 'sha256',
        hash: '31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b',
      },
    ])
  })

  it('reads several ordinary outputs, with escaped characters', () => {
    const aterm = 'Derive([("dev","/nix/store/a-x-dev","",""),("out","/nix/store/b-x\\"q","","")],[],[],"x86_64-linux","b",[],[])'
    expect(parseDerivationOutputs(aterm).map((o) => [o.name, o.path, o.hash])).toEqual([
      ['dev', '/nix/store/a-x-dev', ''],
      ['out', '/nix/store/b-x"q', ''],
    ])
  })

  it('refuses what is not a derivation', () => {
    expect(() => parseDerivationOutputs('{"not":"aterm"}', 'x.drv')).toThrow('Not a derivation in ATerm form: x.drv')
    expect(() => parseDerivationOutputs('Derive([("out","/nix/store/a"', 'y.drv')).toThrow(/Malformed derivation y\.drv|Unterminated/)
  })
})

describe('storePathName', () => {
  it('drops the store directory and the hash', () => {
    expect(storePathName('/nix/store/3x7dwzq014bblazs7kq20p9hyzz0qh8g-hello-2.10.tar.gz')).toBe('hello-2.10.tar.gz')
  })
})

describe('readDerivationOutputs, from a store kept under another root', () => {
  it('reads the .drv where that store keeps it, not from the host store (replay and validators use such a store)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cartenix-rooted-store-'))
    const env = { NIX_REMOTE: `local?root=${root}` }
    const before = process.env.NIX_REMOTE
    try {
      const expr = `derivation { name = "only-in-a-rooted-store-${process.pid}-${Date.now()}"; system = "x86_64-linux"; builder = "/bin/sh"; }`
      const { stdout } = await runNix('nix-instantiate', ['--expr', expr], { env })
      const drvPath = stdout.trim()
      await expect(access(drvPath)).rejects.toThrow()
      process.env.NIX_REMOTE = env.NIX_REMOTE
      const [out] = await readDerivationOutputs(drvPath)
      expect(out?.path).toMatch(/-only-in-a-rooted-store-/)
    } finally {
      if (before === undefined) delete process.env.NIX_REMOTE
      else process.env.NIX_REMOTE = before
      await rm(root, { recursive: true, force: true })
    }
  })
})
