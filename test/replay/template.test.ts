import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { computeTemplate, type Template } from '../../image/template.ts'
import { exec } from '../../dapp/lib/exec.ts'
import { cloneSources } from '../harness/clone.ts'

const repo = fileURLToPath(new URL('../../', import.meta.url))
const cli = join(repo, 'bin/cartenix.js')

describe('the machine template', () => {
  let scratch: string
  let clone: string
  let here: Template
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'cartenix-template-'))
    clone = await cloneSources(scratch)
    here = await computeTemplate({ system: 'x86_64-linux' })
  })
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true })
  })

  it('is the same from another clone, and what `cartenix template --json` prints', async () => {
    expect(here.hash).toMatch(/^0x[0-9a-f]{64}$/)
    expect((await computeTemplate({ system: 'x86_64-linux', root: clone })).hash).toBe(here.hash)
    const { stdout } = await exec(process.execPath, [cli, 'template', '--json', '--system', 'x86_64-linux'], { cwd: scratch })
    const printed = JSON.parse(stdout) as Template
    expect(printed.hash).toBe(here.hash)
    expect(printed.components.map((c) => c.name)).toEqual(['backend', 'package-set', 'sources-lock', 'seed-lock', 'nix-settings', 'system'])
    expect(printed.components.find((c) => c.name === 'package-set')?.files?.map((f) => f.path)).toContain('pkgs/hello.nix')
  })

  it('changes with the system, a lock, a package, Nix settings or the back end', async () => {
    const other = (await computeTemplate({ system: 'riscv64-linux' })).hash
    expect(other).not.toBe(here.hash)
    const changes: [string, string, (text: string) => string][] = [
      ['the sources lock', 'image/sources.lock.json', (t) => t.replace('"hello-2.10.tar.gz"', '"hello-2.10.tar.gz" ')],
      ['the seed lock', 'image/seed/amd64.lock.json', (t) => `${t}\n`],
      ['a package', 'image/pkgs/hello.nix', (t) => `${t}\n# changed\n`],
      ['Nix settings', 'image/nix/nix.conf', (t) => `${t}\nkeep-going = true\n`],
      ['the back end', 'dapp/protocol/request.ts', (t) => t.replace('payload is empty; expected a JSON build request', 'payload is empty')],
    ]
    const seen = new Set([here.hash, other])
    for (const [what, file, change] of changes) {
      const original = await readFile(join(clone, file), 'utf8')
      const changed = change(original)
      expect(changed, what).not.toBe(original)
      await writeFile(join(clone, file), changed)
      const hash = (await computeTemplate({ system: 'x86_64-linux', root: clone })).hash
      expect(seen.has(hash), `${what} changed nothing`).toBe(false)
      seen.add(hash)
      await writeFile(join(clone, file), original)
    }
    // A comment esbuild drops does not change what runs, nor the hash.
    await appendFile(join(clone, 'dapp/protocol/request.ts'), '\n// a comment\n')
    expect((await computeTemplate({ system: 'x86_64-linux', root: clone })).hash).toBe(here.hash)
  })
})
