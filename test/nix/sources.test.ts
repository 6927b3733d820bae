import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { addSourceFile, downloadFromDebian, ensureSources, SourceUnavailableError } from '../../image/sources.ts'
import { readSourceLock } from '../../dapp/nix/sources.ts'
import { HashMismatchError, sha256File } from '../../image/host/debs.ts'
import { fixedOutputPath, invalidPaths } from '../../dapp/nix/store.ts'

const hello = async () => {
  const source = (await readSourceLock()).find((s) => s.name === 'hello-2.10.tar.gz')
  if (!source) throw new Error('hello-2.10.tar.gz is not in the source lock')
  return source
}

describe('locked sources', () => {
  it('puts GNU hello 2.10 where nixpkgs fetchurl puts it', async () => {
    const [status] = await ensureSources({ names: ['hello-2.10.tar.gz'] })
    expect(status?.storePath).toBe('/nix/store/3x7dwzq014bblazs7kq20p9hyzz0qh8g-hello-2.10.tar.gz')
    expect(status?.present).toBe(true)
  })

  it('gets every locked source from Debian with the locked sha256', async () => {
    const status = await ensureSources()
    expect(status.length).toBeGreaterThanOrEqual(4)
    for (const source of status) {
      expect(source.present).toBe(true)
      expect(await sha256File(source.storePath)).toBe(source.sha256)
    }
  })

  it('refuses a corrupted file, and its bytes never reach the store', async () => {
    const source = await hello()
    const original = await downloadFromDebian(source)
    const dir = await mkdtemp(join(tmpdir(), 'cartenix-corrupt-'))
    const corrupted = join(dir, source.name)
    await copyFile(original, corrupted)
    const bytes = await readFile(corrupted)
    const middle = bytes.length >> 1
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0xff, middle)
    await writeFile(corrupted, bytes)

    const error = await addSourceFile(source, corrupted).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(HashMismatchError)
    expect(String(error)).toContain(`expected ${source.sha256}`)
    const wouldBe = await fixedOutputPath({ name: source.name, sha256: await sha256File(corrupted), mode: 'flat' })
    expect(await invalidPaths([wouldBe])).toEqual(new Set([wouldBe]))
  })

  it('says what to do when Debian no longer has the pinned source version', async () => {
    const source = { ...(await hello()), debian: { source: 'hello', version: '0.0-cartenix-gone', file: 'hello_0.0.orig.tar.gz' } }
    const error = await downloadFromDebian(source).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SourceUnavailableError)
    expect(String(error)).toContain('hello 0.0-cartenix-gone')
  })
})
