import { createReadStream } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { exec } from '../../dapp/lib/exec.ts'
import { nixEnv } from '../../dapp/nix/env.ts'
import { fixedOutputPath } from '../../dapp/nix/store.ts'
import { readSeedLock } from '../../image/seed/lock.ts'
import { readSourceLock } from '../../dapp/nix/sources.ts'
import { flatFileSha256, NarTooLargeError, spoolNar } from './nar.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cartenix-nar-'))
})

/** `nix-store --dump` of a store path into a file (these are the upstream's bytes in the gateway). */
async function dump(path: string, name: string): Promise<string> {
  const file = join(dir, name)
  await exec('sh', ['-c', 'nix-store --dump "$1" > "$2"', 'sh', path, file], { env: nixEnv() })
  return file
}

describe('NAR checks', () => {
  it("finds a flat fixed-output path's file hash inside its NAR, and refuses a directory's NAR", async () => {
    const [source] = await readSourceLock()
    if (!source) throw new Error('no locked source')
    const path = await fixedOutputPath({ name: source.name, sha256: source.sha256, mode: 'flat' })
    const file = await dump(path, 'flat.nar')
    expect((await flatFileSha256(file))?.toString('hex')).toBe(source.sha256)

    const seed = await readSeedLock('amd64')
    const busybox = await fixedOutputPath({ name: seed.outputs.busybox.name, sha256: seed.outputs.busybox.narSha256, mode: 'recursive' })
    expect(await flatFileSha256(await dump(busybox, 'dir.nar'))).toBeUndefined()
    await writeFile(join(dir, 'junk.nar'), 'not a nar at all')
    expect(await flatFileSha256(join(dir, 'junk.nar'))).toBeUndefined()
  })

  it('hashes what it spools, and stops at the size limit', async () => {
    const [source] = await readSourceLock()
    const path = await fixedOutputPath({ name: source?.name ?? '', sha256: source?.sha256 ?? '', mode: 'flat' })
    const file = await dump(path, 'again.nar')
    const { stdout } = await exec('sha256sum', [file])
    const spooled = await spoolNar(createReadStream(file), join(dir, 'spooled.nar'), 1n << 40n)
    expect(spooled.sha256.toString('hex')).toBe(stdout.split(' ')[0])
    await expect(spoolNar(createReadStream(file), join(dir, 'cut.nar'), 1000n)).rejects.toBeInstanceOf(NarTooLargeError)
  })
})
