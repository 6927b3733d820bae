import { describe, expect, it } from 'vitest'
import { parseDerivationOutputs, storePathName } from './derivation.ts'

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
