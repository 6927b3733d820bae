/**
 * The image host check names what is missing: a PATH without arch-test gives an error that
 * names arch-test (not qemu), and an arch-test that runs and says no is told apart from one
 * that is not there. Fake programs on a temporary PATH; nothing is installed.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { checkRiscv64Runs, imageHostPackages, imageHostPrograms, requirePrograms } from './host-programs.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

/** A directory holding executable shell scripts, one per program, each with the given body. */
async function fakePath(programs: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cartenix-host-'))
  dirs.push(dir)
  for (const [name, body] of Object.entries(programs)) {
    await writeFile(join(dir, name), `#!/bin/sh\n${body}\n`)
    await chmod(join(dir, name), 0o755)
  }
  return dir
}

describe('image host check', () => {
  it('installs arch-test, which mmdebstrap needs for a foreign architecture', () => {
    expect(imageHostPackages).toContain('arch-test')
    expect(imageHostPackages).toContain('mmdebstrap')
  })

  it('names arch-test and its package when only arch-test is missing from PATH', async () => {
    const others = Object.fromEntries(imageHostPrograms.filter((p) => p.program !== 'arch-test').map((p) => [p.program, 'exit 0']))
    const path = await fakePath(others)
    const error = await requirePrograms(imageHostPrograms, path).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    const message = (error as Error).message
    expect(message).toContain('arch-test (package arch-test)')
    expect(message).not.toContain('mmdebstrap (package')
    expect(message).not.toContain('qemu-riscv64-static (package')
  })

  it('passes when every program is on PATH', async () => {
    const path = await fakePath(Object.fromEntries(imageHostPrograms.map((p) => [p.program, 'exit 0'])))
    await expect(requirePrograms(imageHostPrograms, path)).resolves.toBeUndefined()
  })

  it('says arch-test is not installed, and does not blame qemu, when arch-test is missing', async () => {
    const path = await fakePath({})
    const error = await checkRiscv64Runs(path).then(() => undefined, (e: unknown) => e)
    expect((error as Error).message).toMatch(/^arch-test is not installed/)
    expect((error as Error).message).not.toMatch(/qemu/)
  })

  it('reports what arch-test said when it ran and said no', async () => {
    const path = await fakePath({ 'arch-test': 'echo "$1: not supported on this machine/kernel"; exit 1' })
    const error = await checkRiscv64Runs(path).then(() => undefined, (e: unknown) => e)
    expect((error as Error).message).toContain('arch-test ran and said riscv64 programs do not run')
    expect((error as Error).message).toContain('riscv64: not supported on this machine/kernel')
  })

  it('passes when arch-test says ok', async () => {
    const path = await fakePath({ 'arch-test': 'echo "$1: ok"' })
    await expect(checkRiscv64Runs(path)).resolves.toBeUndefined()
  })
})
