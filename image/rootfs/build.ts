/**
 * `npm run image`: the riscv64 root file system of the Cartesi machine, made without Docker.
 *
 *   1. mmdebstrap a Debian trixie riscv64 tree with Node.js, Nix and busybox (qemu-user runs the
 *      maintainer scripts);
 *   2. install Cartenix's nix.conf, the package set and locks, and the back end bundled for Node;
 *   3. put the riscv64 seed (same recipe as amd64) and the locked sources in the tree's Nix store
 *      with `nix-store --add-fixed`, run inside the tree; build the seed there;
 *   4. pack the tree as an ext2 image with genext2fs, the way the Cartesi CLI does.
 *
 * The tree and the ext2 image are kept outside the work tree (imageTreeDir), keyed by their lock.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exec } from '../../scripts/lib/exec.ts'
import { cacheDir } from '../../scripts/lib/cache.ts'
import { repoRoot } from '../../dapp/nix/env.ts'
import { listFixedOutputs } from '../../dapp/nix/fods.ts'
import { ensureSeed, seedStorePaths } from '../seed/index.ts'
import { readSeedLock } from '../seed/lock.ts'
import { seedRecipe } from '../seed/recipe.ts'
import { ensureSources, readSourceLock } from '../sources.ts'
import { enterChroot, type Chroot } from './chroot.ts'
import { ensureImageHost } from './host.ts'
import { bundleBackend, bundleRelay, type Template } from '../template.ts'
import { vmInit } from '../vm/guest-init.ts'

/** Where the back end and the image's files live inside the machine (CARTENIX_ROOT). */
export const machineRoot = '/opt/cartenix'

/** Debian packages of the machine: Node.js for the back end, Nix, busybox. */
export const machinePackages = ['nodejs', 'nix-bin', 'busybox-static'] as const

/** The Docker build context (image/Dockerfile copies from it): in the work tree, and small. */
export const imageWorkDir = join(repoRoot, '.cartenix', 'image')

/**
 * The tree and its ext2 image are heavy (1.5 GB each) and slow to make (mmdebstrap and the seed
 * built under emulation: a quarter of an hour), so they live outside the work tree, keyed by
 * what decides them: the packages, the suite and mirror, and the riscv64 seed lock. Another
 * clone, or CI after a session, reuses them; a changed lock makes a new tree (and the old one
 * is removed). What is copied in on every run (the back end, the package set, the sources) is
 * not part of the key.
 */
export const imageCacheRoot = cacheDir('image')

function treeKey(): string {
  const recipe = seedRecipe('riscv64')
  return createHash('sha256')
    .update(JSON.stringify({ packages: machinePackages, suite: recipe.suite, mirror: recipe.mirror }))
    .update(readFileSync(join(repoRoot, 'image', 'seed', 'riscv64.lock.json')))
    .digest('hex')
    .slice(0, 16)
}

export const imageTreeDir = join(imageCacheRoot, `riscv64-${treeKey()}`)
export const rootfsDir = join(imageTreeDir, 'rootfs')
export const ext2Path = join(imageTreeDir, 'rootfs.ext2')

/**
 * qemu-user cannot emulate clone() with namespace flags (CLONE_NEWNS, CLONE_NEWPID, …), so
 * Nix's sandbox cannot start under it. Builds run inside the emulated tree therefore run
 * unsandboxed; the machine's own nix.conf keeps `sandbox = true` for the real Cartesi machine.
 */
export const emulationNixConfig = 'sandbox = false'

export type ImageOptions = {
  /** Only the sources these attributes need; every locked source when absent. */
  attrs?: readonly string[]
  /** Make the Debian tree anew even if one exists. */
  fresh?: boolean
  log?: (line: string) => void
}

export type ImageResult = { rootfs: string; ext2: string; rootfsBytes: number; ext2Bytes: number }

async function duBytes(path: string): Promise<number> {
  const { stdout } = await exec('du', ['-sb', path])
  return Number(stdout.split('\t')[0])
}

async function debianTree(fresh: boolean, log: (line: string) => void): Promise<void> {
  if (!fresh && (await stat(join(rootfsDir, 'usr/bin/node')).then(() => true, () => false))) return
  const recipe = seedRecipe('riscv64')
  const staging = `${rootfsDir}.new`
  await rm(staging, { recursive: true, force: true })
  // Trees of other keys are out of date: a changed lock or package list made this one.
  for (const old of await readdir(imageCacheRoot).catch(() => [] as string[])) {
    if (old.startsWith('riscv64-') && join(imageCacheRoot, old) !== imageTreeDir) {
      log(`image: removing the tree of an earlier lock (${join(imageCacheRoot, old)})`)
      await rm(join(imageCacheRoot, old), { recursive: true, force: true })
    }
  }
  // mmdebstrap makes the target directory but not its parents.
  await mkdir(imageTreeDir, { recursive: true })
  log(`image: mmdebstrap ${recipe.suite} riscv64 with ${machinePackages.join(', ')}`)
  await exec(
    'mmdebstrap',
    ['--arch=riscv64', '--variant=essential', `--include=${machinePackages.join(',')}`, '--mode=root', recipe.suite, staging, recipe.mirror],
    // Timestamps from SOURCE_DATE_EPOCH: the same package versions give the same tree.
    { env: { ...process.env, SOURCE_DATE_EPOCH: '1' } },
  )
  await rm(rootfsDir, { recursive: true, force: true })
  await rename(staging, rootfsDir)
}

async function installCartenix(log: (line: string) => void): Promise<void> {
  const target = join(rootfsDir, machineRoot.slice(1))
  await rm(target, { recursive: true, force: true })
  await mkdir(join(target, 'image', 'seed'), { recursive: true })
  for (const entry of ['nix', 'pkgs', 'sources.lock.json']) await cp(join(repoRoot, 'image', entry), join(target, 'image', entry), { recursive: true })
  for (const lock of await readdir(join(repoRoot, 'image', 'seed'))) {
    if (lock.endsWith('.lock.json')) await cp(join(repoRoot, 'image', 'seed', lock), join(target, 'image', 'seed', lock))
  }
  await mkdir(join(rootfsDir, 'etc/nix'), { recursive: true })
  await cp(join(repoRoot, 'image/nix/nix.conf'), join(rootfsDir, 'etc/nix/nix.conf'))
  log('image: bundling the back end and the rollup relay')
  // The very bytes the template hash commits to (image/template.ts).
  await writeFile(join(target, 'backend.mjs'), await bundleBackend())
  await writeFile(join(target, 'relay.mjs'), await bundleRelay())
  await writeFile(join(target, 'vm-init'), vmInit, { mode: 0o755 })
  await writeFile(join(rootfsDir, 'etc/profile.d/cartenix.sh'), `export CARTENIX_ROOT=${machineRoot}\nexport ROLLUP_HTTP_SERVER_URL=\${ROLLUP_HTTP_SERVER_URL:-http://127.0.0.1:5004}\n`)
}

/**
 * The Docker build context image/Dockerfile copies from: the same files this recipe puts in
 * the tree (/opt/cartenix) and in its store (the inbox), for the Cartesi CLI path.
 */
async function dockerContext(storePaths: { path: string; name: string }[]): Promise<void> {
  const context = join(imageWorkDir, 'context')
  await rm(context, { recursive: true, force: true })
  await cp(join(rootfsDir, machineRoot.slice(1)), join(context, machineRoot.slice(1)), { recursive: true })
  for (const { path, name } of storePaths) await cp(path, join(context, "inbox", name), { recursive: true, verbatimSymlinks: true })
}

/** Copies a host store path into the tree and adds it there by content; checks the path agrees. */
async function inject(chroot: Chroot, storePath: string, name: string, mode: 'flat' | 'recursive'): Promise<void> {
  const inbox = join(rootfsDir, 'tmp', 'cartenix-inbox')
  await mkdir(inbox, { recursive: true })
  await cp(storePath, join(inbox, name), { recursive: true, verbatimSymlinks: true })
  const { stdout } = await chroot.run('nix-store', ['--add-fixed', ...(mode === 'recursive' ? ['--recursive'] : []), 'sha256', `/tmp/cartenix-inbox/${name}`])
  await rm(join(inbox, name), { recursive: true, force: true })
  if (stdout.trim() !== storePath) throw new Error(`Injected ${name} landed at ${stdout.trim()}, expected ${storePath}`)
}

export async function buildImage(options: ImageOptions = {}): Promise<ImageResult> {
  const log = options.log ?? (() => {})
  await ensureImageHost(log)
  await debianTree(options.fresh ?? false, log)
  await installCartenix(log)

  const lock = await readSeedLock('riscv64')
  await ensureSeed('riscv64', log)
  const seed = await seedStorePaths(lock)
  const sources = options.attrs
    ? (await Promise.all(options.attrs.map((attr) => listFixedOutputs({ attr }, { system: 'riscv64-linux' })))).flat().filter((f) => !f.name.startsWith('cartenix-seed'))
    : await ensureSources()
  await dockerContext([
    { path: seed.tarball, name: lock.outputs.tarball.name },
    { path: seed.busybox, name: lock.outputs.busybox.name },
    ...sources.map((s) => ({ path: s.storePath, name: s.name })),
  ])
  const chroot = await enterChroot(rootfsDir)
  try {
    log('image: adding the seed and the sources to the machine\'s Nix store')
    await inject(chroot, seed.tarball, lock.outputs.tarball.name, 'flat')
    await inject(chroot, seed.busybox, lock.outputs.busybox.name, 'recursive')
    const locked = await readSourceLock()
    for (const source of sources) {
      if (!locked.some((s) => s.name === source.name)) throw new Error(`${source.name} is not a locked source`)
      await inject(chroot, source.storePath, source.name, 'flat')
    }
    log('image: building the riscv64 seed inside the machine (emulated)')
    await chroot.run('nix-build', [`${machineRoot}/image/pkgs`, '--attr', 'stdenv', '--argstr', 'system', 'riscv64-linux', '--no-out-link'], {
      env: { ...process.env, NIX_CONFIG: emulationNixConfig },
    })
  } finally {
    await chroot.release()
  }
  await rm(join(rootfsDir, 'tmp', 'cartenix-inbox'), { recursive: true, force: true })

  log('image: packing the ext2 image')
  const rootfsBytes = await duBytes(rootfsDir)
  const { stdout: files } = await exec('bash', ['-c', 'find "$1" -xdev | wc -l', 'find', rootfsDir])
  // Room for builds inside the machine: the tree plus a quarter, plus 1 GiB (the VM's back end
  // stops a build when less than 256 MiB is left; see image/vm/run.ts).
  const blocks = Math.ceil((rootfsBytes * 1.25 + 1024 * 1024 * 1024) / 4096)
  await rm(ext2Path, { force: true })
  await exec('genext2fs', ['--faketime', '--block-size', '4096', '--size-in-blocks', String(blocks), '--number-of-inodes', String(Number(files) * 2 + 20_000), '--root', rootfsDir, ext2Path])
  return { rootfs: rootfsDir, ext2: ext2Path, rootfsBytes, ext2Bytes: (await stat(ext2Path)).size }
}

/**
 * The tree's back end, relay and PID 1 are the template's, byte for byte: what the VM runs is
 * what the Application was deployed with, and what replay checks against. Otherwise the image is
 * from another checkout: `npm run image` again.
 */
export async function checkTreeAgainst(template: Template): Promise<void> {
  const files = [
    ['backend', 'backend.mjs'],
    ['relay', 'relay.mjs'],
    ['vm-init', 'vm-init'],
  ] as const
  for (const [component, file] of files) {
    const path = join(rootfsDir, machineRoot.slice(1), file)
    const actual = await readFile(path).then((bytes) => createHash('sha256').update(bytes).digest('hex'), () => 'missing')
    const expected = template.components.find((c) => c.name === component)?.sha256
    if (actual !== expected) {
      throw new Error(`The riscv64 image's ${path} is not the template's ${component} (${actual}, expected ${expected}): run \`npm run image\` at this checkout`)
    }
  }
}
