/** Test harness: a copy of the checkout's sources somewhere else on disk, as another clone would be. */
import { cp, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('../../', import.meta.url))

/** Copies the sources into `into`/clone (node_modules shared by a link); returns the clone's root. */
export async function cloneSources(into: string): Promise<string> {
  const clone = join(into, 'clone')
  for (const dir of ['dapp', 'contracts-client', 'image', 'scripts', 'package.json', 'tsconfig.json']) {
    await cp(join(repo, dir), join(clone, dir), { recursive: true })
  }
  await symlink(join(repo, 'node_modules'), join(clone, 'node_modules'))
  return clone
}
