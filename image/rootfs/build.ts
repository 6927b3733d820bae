/**
 * `npm run image`: the riscv64 root file system of the Cartesi machine, made without Docker.
 *
 *   1. mmdebstrap a Debian trixie riscv64 tree from exactly the .debs of image/rootfs/lock.json
 *      (Node.js, Nix, busybox and the Essential set; qemu-user runs the maintainer scripts);
 *   2. install Cartenix's nix.conf, the package set and locks, and the back end bundled for Node;
 *   3. put the riscv64 seed (same recipe as amd64) and the locked sources in the tree's Nix store
 *      with `nix-store --add-fixed`, run inside the tree; build the seed there;
 *   4. pack the image from the tree: only what the image needs, in a canonical form (see
 *      packImage), as an ext2 file system made by genext2fs, the way the Cartesi CLI does. The
 *      same checkout, locks and attributes give the same image, byte for byte.
 *
 * The tree and the ext2 image are kept outside the work tree (imageTreeDir), keyed by their lock.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { cp, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { exec } from '../../dapp/lib/exec.ts'
import { sha256File } from '../host/debs.ts'
import { artefactsDir } from '../host/artefacts.ts'
import { repoRoot } from '../../dapp/lib/paths.ts'
import { listFixedOutputs } from '../../dapp/nix/fods.ts'
import { ensureSeed, seedStorePaths } from '../seed/index.ts'
import { readSeedLock } from '../seed/lock.ts'
import { ensureSources } from '../sources.ts'
import { readSourceLock } from '../../dapp/nix/sources.ts'
import { enterChroot, type Chroot } from './chroot.ts'
import { ensureImageHost } from './host-programs.ts'
import { checkTreePackages, pinnedArchive, readTreeLock, treeLockPath, treeLockRefresh } from './lock.ts'
import { bundleBackend, bundleRelay, type Template } from '../template.ts'
import { vmInit } from '../vm/guest-init.ts'

/** Where the back end and the image's files live inside the machine (CARTENIX_ROOT). */
export const machineRoot = '/opt/cartenix'

/** Debian packages asked for on top of the Essential set: Node.js for the back end, Nix, busybox. The lock pins them and their dependencies. */
export const machinePackages = ['nodejs', 'nix-bin', 'busybox-static'] as const

/** The Docker build context (image/Dockerfile copies from it): in the work tree, and small. */
export const imageWorkDir = join(repoRoot, '.cartenix', 'image')

/**
 * The tree and its ext2 image are heavy (1.5 GB each) and slow to make (mmdebstrap and the seed
 * built under emulation: a quarter of an hour), so they live outside the work tree, keyed by
 * what decides them: the tree's lock (its packages, suite and mirror) and the riscv64 seed lock. Another
 * clone, or CI after a session, reuses them; a changed lock makes a new tree (and the old one
 * is removed). What is copied in on every run (the back end, the package set, the sources) is
 * not part of the key. They live in the artefacts directory's image/ (image/host/artefacts.ts).
 */
export const imageArtefactsDir = artefactsDir('image')

function treeKey(): string {
  return createHash('sha256')
    .update(readFileSync(treeLockPath))
    .update(readFileSync(join(repoRoot, 'image', 'seed', 'riscv64.lock.json')))
    .digest('hex')
    .slice(0, 16)
}

export const imageTreeDir = join(imageArtefactsDir, `riscv64-${treeKey()}`)
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

export type ImageResult = { rootfs: string; ext2: string; rootfsBytes: number; ext2Bytes: number; ext2Sha256: string }

async function duBytes(path: string): Promise<number> {
  // -x: not into what a chroot of the tree has mounted (/proc, /dev).
  const { stdout } = await exec('du', ['-sbx', path])
  return Number(stdout.split('\t')[0])
}

async function debianTree(fresh: boolean, log: (line: string) => void): Promise<void> {
  const lock = await readTreeLock()
  if (!fresh && (await stat(join(rootfsDir, 'usr/bin/node')).then(() => true, () => false))) {
    await checkTreePackages(rootfsDir, lock)
    return
  }
  const staging = `${rootfsDir}.new`
  await rm(staging, { recursive: true, force: true })
  // Trees of other keys are out of date: a changed lock or package list made this one.
  for (const old of await readdir(imageArtefactsDir).catch(() => [] as string[])) {
    if (old.startsWith('riscv64-') && join(imageArtefactsDir, old) !== imageTreeDir) {
      log(`image: removing the tree of an earlier lock (${join(imageArtefactsDir, old)})`)
      await rm(join(imageArtefactsDir, old), { recursive: true, force: true })
    }
  }
  // mmdebstrap makes the target directory but not its parents.
  await mkdir(imageTreeDir, { recursive: true })
  log(`image: ${lock.packages.length} pinned packages (${treeLockRefresh.lockFile})`)
  const archive = join(imageTreeDir, 'archive')
  const source = await pinnedArchive(lock, archive)
  log(`image: mmdebstrap ${lock.suite} riscv64 with ${lock.roots.join(', ')}`)
  await exec(
    'mmdebstrap',
    ['--arch=riscv64', '--variant=essential', `--include=${lock.roots.join(',')}`, '--mode=root', lock.suite, staging, source],
    // Timestamps from SOURCE_DATE_EPOCH: the same package versions give the same tree.
    { env: { ...process.env, SOURCE_DATE_EPOCH: '1' } },
  )
  await rm(archive, { recursive: true, force: true })
  // The tree names the mirror the lock was resolved from, not the local archive that is gone.
  await writeFile(join(staging, 'etc/apt/sources.list'), `deb ${lock.mirror} ${lock.suite} main\n`)
  await checkTreePackages(staging, lock)
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
  let stdenvDrv = ''
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
    const instantiated = await chroot.run('nix-instantiate', [`${machineRoot}/image/pkgs`, '--attr', 'stdenv', '--argstr', 'system', 'riscv64-linux'], {
      env: { ...process.env, NIX_CONFIG: emulationNixConfig },
    })
    stdenvDrv = instantiated.stdout.trim()
    await chroot.run('nix-store', ['--realise', stdenvDrv], { env: { ...process.env, NIX_CONFIG: emulationNixConfig } })
  } finally {
    await chroot.release()
  }
  await rm(join(rootfsDir, 'tmp', 'cartenix-inbox'), { recursive: true, force: true })

  log('image: packing the ext2 image')
  const packed = await packImage({ paths: [seed.tarball, seed.busybox, ...sources.map((s) => s.storePath)], derivations: [stdenvDrv] }, log)
  return { rootfs: rootfsDir, ext2: ext2Path, rootfsBytes: await duBytes(rootfsDir), ...packed }
}

/** Files of the tree that record when or in what order things happened, not what the image is. */
const volatilePaths = [
  'nix/var/log/nix/drvs', // build logs
  'nix/var/nix/temproots',
  'nix/var/nix/gc-socket',
  'nix/var/nix/db/db.sqlite-wal',
  'nix/var/nix/db/db.sqlite-shm',
  'tmp',
  'var/tmp',
  'root/.cache',
  'var/cache/ldconfig/aux-cache', // inode numbers and ctimes of the host's file system
  'var/cache/debconf/config.dat-old',
  'var/cache/debconf/templates.dat-old',
  'var/log/apt',
  'var/log/dpkg.log',
  'var/log/alternatives.log',
]

/** Store paths the image keeps, and derivations it keeps with every output of their closure. */
export type ImageRoots = { paths: string[]; derivations: string[] }

/**
 * Packs the image from the tree, leaving the tree as it was (the next run reuses it: the seed's
 * build outputs and whatever the qemu-user back end did in it stay there). On an overlay of the
 * tree:
 *
 *   - the store keeps only the roots: Nix's garbage collector removes the rest (an earlier
 *     request's hello, the .drv files of a rolled-back input, a superseded stdenv);
 *   - Nix's database is made anew from its own dump, so path ids follow the sorted paths and not
 *     the order of history, and every registration time is 1;
 *   - logs, temporary files and caches go (volatilePaths);
 *   - the tree is archived with sorted names, numeric owners and mtimes clamped to 1 (the store's
 *     own mtime), and genext2fs builds the file system from that stream: inodes are allocated in
 *     name order, not in the order the host's directories list their entries.
 *
 * The image's size follows from the files' sizes and count, not from the host's directory sizes.
 */
async function packImage(roots: ImageRoots, log: (line: string) => void): Promise<{ ext2Bytes: number; ext2Sha256: string }> {
  const scratch = join(imageTreeDir, 'pack')
  const merged = join(scratch, 'merged')
  await exec('umount', ['-R', '-l', merged]).catch(() => {})
  await rm(scratch, { recursive: true, force: true })
  for (const dir of ['upper', 'work', 'merged']) await mkdir(join(scratch, dir), { recursive: true })
  await exec('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${rootfsDir},upperdir=${join(scratch, 'upper')},workdir=${join(scratch, 'work')}`, merged]).catch((cause: unknown) => {
    throw new Error(`Cannot mount an overlay of ${rootfsDir} to pack the image (${String(cause)}); this needs root and a kernel with overlayfs`)
  })
  try {
    // --out-link roots of earlier runs would keep what they point to; the image has its own.
    await rm(join(merged, 'nix/var/nix/gcroots/auto'), { recursive: true, force: true })
    const rootsDir = join(merged, 'nix/var/nix/gcroots/cartenix')
    await mkdir(rootsDir, { recursive: true })
    for (const path of [...roots.paths, ...roots.derivations]) await symlink(path, join(rootsDir, basename(path)))
    const chroot = await enterChroot(merged)
    try {
      // keep-outputs: every output of the roots' derivation closures stays (the seed's stages).
      const gcConfig = `${emulationNixConfig}\nkeep-outputs = true\nkeep-derivations = true`
      const { stderr } = await chroot.run('nix-store', ['--gc'], { env: { ...process.env, NIX_CONFIG: gcConfig } })
      log(`image: ${stderr.trim().split('\n').at(-1) ?? ''}`)
      await chroot.run('sh', ['-c', [
        'set -e',
        'nix-store --dump-db > /tmp/db.dump',
        'rm -rf /nix/var/nix/db',
        'nix-store --load-db < /tmp/db.dump',
        'rm /tmp/db.dump',
        // The loaded paths carry the time of loading; DBD::SQLite comes with nix-bin.
        `perl -MDBI -e 'my $db = DBI->connect("dbi:SQLite:dbname=/nix/var/nix/db/db.sqlite", "", "", { RaiseError => 1 }); $db->do("update ValidPaths set registrationTime = 1"); $db->do("vacuum"); $db->disconnect'`,
      ].join('\n')], { env: { ...process.env, NIX_CONFIG: emulationNixConfig } })
    } finally {
      await chroot.release()
    }
    // After Nix has run: it makes some of them again (temporary roots, its socket).
    for (const path of volatilePaths) await rm(join(merged, path), { recursive: true, force: true })
    for (const dir of ['tmp', 'var/tmp']) {
      await mkdir(join(merged, dir))
      await exec('chmod', ['1777', join(merged, dir)])
    }

    const { stdout: census } = await exec('bash', ['-c', 'find "$1" -xdev -printf "%y %s\\n"', 'find', merged])
    let bytes = 0
    let entries = 0
    for (const line of census.split('\n')) {
      if (!line) continue
      entries += 1
      if (line.startsWith('f ') || line.startsWith('l ')) bytes += Number(line.slice(2))
    }
    // Room for builds inside the machine: the tree plus a quarter, plus 1 GiB (the VM's back end
    // stops a build when less than 256 MiB is left; see image/vm/run.ts).
    const blocks = Math.ceil((bytes * 1.25 + 1024 * 1024 * 1024) / 4096)
    await rm(ext2Path, { force: true })
    await rm(`${ext2Path}.sha256`, { force: true })
    await exec('bash', ['-o', 'pipefail', '-c',
      'tar --create --sort=name --format=gnu --numeric-owner --mtime=@1 --clamp-mtime -C "$1" . | genext2fs --faketime --block-size 4096 --size-in-blocks "$2" --number-of-inodes "$3" --tarball - "$4"',
      'pack', merged, String(blocks), String(entries * 2 + 20_000), ext2Path,
    ])
  } finally {
    await exec('umount', ['-R', '-l', merged]).catch(() => {})
    await rm(scratch, { recursive: true, force: true })
  }
  const ext2Sha256 = await sha256File(ext2Path)
  await writeFile(`${ext2Path}.sha256`, `${ext2Sha256}\n`)
  return { ext2Bytes: (await stat(ext2Path)).size, ext2Sha256 }
}

/** The image's sha256, as `npm run image` recorded it beside the image (or computed, 5–10 s). */
export async function imageSha256(ext2: string = ext2Path): Promise<string> {
  const recorded = await readFile(`${ext2}.sha256`, 'utf8').then((text) => text.trim(), () => '')
  return /^[0-9a-f]{64}$/.test(recorded) ? recorded : sha256File(ext2)
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
