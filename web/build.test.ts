import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPage } from './build.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cartenix-web-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('buildPage', () => {
  it('bundles the page for the browser as it is, with no module swapped', async () => {
    const { files, sizes } = await buildPage()
    expect([...files.keys()].sort()).toEqual(['app.js', 'index.html', 'style.css'])
    expect(sizes['app.js']?.bytes).toBeGreaterThan(10_000)
  })

  it('fails when the page reaches for a Node module', async () => {
    const entry = join(dir, 'planted.ts')
    await writeFile(entry, `import { readFile } from 'node:fs/promises'\nconsole.log(readFile)\n`)
    await expect(buildPage(entry)).rejects.toThrow(/node:fs\/promises/)
  })
})
