import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { buildTarget, type BuiltDerivation } from '../../dapp/nix/build.ts'
import { runNix } from '../../dapp/nix/env.ts'
import { exec } from '../../dapp/lib/exec.ts'

const outPath = (built: BuiltDerivation[]) => {
  const path = built[0]?.outputs.find((o) => o.name === 'out')?.path
  if (!path) throw new Error('no out output')
  return path
}

describe('the package set, offline in the sandbox', () => {
  it('builds GNU hello, which greets', async () => {
    const built = await buildTarget({ attr: 'hello' })
    const { stdout } = await exec(`${outPath(built)}/bin/hello`, [])
    expect(stdout).toBe('Hello, world!\n')
    expect(built[0]?.outputs[0]?.narHash).toMatch(/^sha256:[0-9a-z]{52}$/)
  })

  it('builds the chain ncurses -> readline -> lua, and lua links both libraries built here', async () => {
    const [ncurses, readline, lua] = await Promise.all(['ncurses', 'readline', 'lua'].map((attr) => buildTarget({ attr }).then(outPath)))
    const { stdout } = await exec(`${lua}/bin/lua`, ['-e', 'print(("chain"):upper(), 6 * 7)'])
    expect(stdout).toBe('CHAIN\t42\n')
    const { stdout: closure } = await runNix('nix-store', ['--query', '--requisites', lua ?? ''])
    expect(closure.split('\n')).toEqual(expect.arrayContaining([ncurses, readline]))
    const binary = await readFile(`${lua}/bin/lua`, 'latin1')
    expect(binary).toContain(`${readline}/lib`)
    expect(binary).toContain(`${ncurses}/lib`)
  })

  it('reproduces each package bit for bit (nix-build --check)', async () => {
    for (const attr of ['hello', 'ncurses', 'readline', 'lua']) {
      const first = await buildTarget({ attr })
      const again = await buildTarget({ attr }, { check: true })
      expect(again).toEqual(first)
    }
  })
})
