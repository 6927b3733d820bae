import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { imageDir as defaultImageDir } from '../lib/paths.ts'
import { addFixed, narHash } from './store.ts'

/**
 * The package set as evaluation sees it. Evaluation is pure, so it may read only store paths it
 * names with their hash: the image's Nix files and the locks they read are copied into the store
 * by content, and the package set is imported from there. Where a clone lives on disk then
 * changes nothing (not `./.` in a package, not a position in an error message).
 */

/** The store path's name, and the directory name the files are staged under before adding. */
export const packageSetName = 'cartenix-image'

/**
 * The files evaluation reads, relative to image/: every regular file under pkgs/, and the locks
 * it reads (sources, seeds). Sorted, so that anything hashing them in order is deterministic.
 */
export async function packageSetFiles(imageDir: string = defaultImageDir): Promise<string[]> {
  const files: string[] = ['sources.lock.json']
  for (const entry of await readdir(join(imageDir, 'seed'), { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.lock.json')) files.push(join('seed', entry.name))
  }
  for (const entry of await readdir(join(imageDir, 'pkgs'), { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) files.push(join(entry.parentPath, entry.name).slice(imageDir.length + 1))
  }
  return files.sort()
}

/** A store path and the NAR hash (`sha256:<nix32>`) that pure evaluation names it by. */
export type PinnedStorePath = { path: string; narHash: string }

const inStore = new Map<string, Promise<PinnedStorePath>>()

/**
 * Adds the package set's files to the store (recursive, by content) and returns the store path
 * with its NAR hash. Once per image directory and process: the image does not change under a
 * running back end.
 */
export function packageSetInStore(imageDir: string = defaultImageDir): Promise<PinnedStorePath> {
  let pending = inStore.get(imageDir)
  if (!pending) {
    pending = addPackageSet(imageDir)
    // A failure (say, the store is not there yet) is not remembered: the next call tries again.
    pending.catch(() => inStore.delete(imageDir))
    inStore.set(imageDir, pending)
  }
  return pending
}

async function addPackageSet(imageDir: string): Promise<PinnedStorePath> {
  const staging = await mkdtemp(join(tmpdir(), 'cartenix-image-'))
  try {
    const root = join(staging, packageSetName)
    for (const file of await packageSetFiles(imageDir)) {
      await mkdir(dirname(join(root, file)), { recursive: true })
      await cp(join(imageDir, file), join(root, file))
    }
    const path = await addFixed(root, 'recursive')
    return { path, narHash: await narHash(path) }
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}
