/**
 * The machine template: one hash that commits to everything that decides a result, computed
 * from the repository and its locks alone, so anyone at the same commit gets the same hash.
 * The devnet deploys the Application with it, and `cartenix replay` refuses to check claims
 * against an Application whose template is not the one it rebuilt.
 *
 * It is Cartenix's own hash, not Cartesi's: a machine built by the Cartesi CLI has the hash of
 * its whole memory and drives (`cartesi build` prints it), which commits to the same files
 * through the root file system.
 */
import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { build } from 'esbuild'
import type { Hex } from 'viem'
import { repoRoot as defaultRoot } from '../dapp/lib/paths.ts'
import { packageSetFiles } from '../dapp/nix/package-set.ts'
import { initramfsModules, initScript } from './vm/initramfs.ts'
import { vmInit } from './vm/guest-init.ts'

/** Bumped whenever what the template covers, or how it is hashed, changes. */
export const templateVersion = 1

/** The systems Cartenix has a seed for, and the Debian architecture of each seed. */
export const templateSystems = { 'x86_64-linux': 'amd64', 'riscv64-linux': 'riscv64' } as const
export type TemplateSystem = keyof typeof templateSystems

export type TemplateFile = { path: string; sha256: string; executable: boolean }

export type TemplateComponent = {
  /** What this part is, e.g. "backend". */
  name: string
  /** sha256 of the part's bytes (for a set of files, of its manifest; see manifestSha256). */
  sha256: string
  description: string
  files?: TemplateFile[]
}

export type Template = {
  version: number
  system: TemplateSystem
  /** What the Application is deployed with: sha256 of the lines `name sha256`, in order. */
  hash: Hex
  components: TemplateComponent[]
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex')

/**
 * How programs are bundled for the machine: one ESM file for Node 20 each. Paths in a bundle are
 * relative to the repository, so a clone anywhere gives the same bytes.
 */
async function bundleForMachine(root: string, entry: string): Promise<{ bytes: Uint8Array; inputs: string[] }> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, entry)],
    outfile: join(root, 'bundle.mjs'),
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Some dependencies still call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __cartenixRequire } from 'node:module'; const require = __cartenixRequire(import.meta.url);" },
    // A node_modules reached through a link stays under the checkout: the bundle's path comments
    // are then the same wherever the packages really are.
    preserveSymlinks: true,
    logLevel: 'warning',
    metafile: true,
  })
  const [file] = result.outputFiles
  if (!file) throw new Error(`esbuild produced no bundle for ${entry}`)
  return { bytes: file.contents, inputs: Object.keys(result.metafile.inputs).sort() }
}

/** The back end as the machine runs it (/opt/cartenix/backend.mjs). */
export const bundleBackend = async (root: string = defaultRoot) => (await bundleForMachine(root, 'dapp/main.ts')).bytes

/** The files the back end's bundle is made of, relative to the repository: dapp/ and packages. */
export const backendBundleInputs = async (root: string = defaultRoot) => (await bundleForMachine(root, 'dapp/main.ts')).inputs

/** The guest half of the rollup relay, for the VM (/opt/cartenix/relay.mjs; image/vm/relay). */
export const bundleRelay = async (root: string = defaultRoot) => (await bundleForMachine(root, 'image/vm/relay/guest.ts')).bytes

async function describeFile(dir: string, path: string): Promise<TemplateFile> {
  const full = join(dir, path)
  const [bytes, info] = await Promise.all([readFile(full), stat(full)])
  return { path, sha256: sha256(bytes), executable: (info.mode & 0o100) !== 0 }
}

/** One line per file (`sha256 x|- path`, sorted by path), hashed: the same files give the same hash. */
export function manifestSha256(files: readonly TemplateFile[]): string {
  const lines = [...files].sort((a, b) => (a.path < b.path ? -1 : 1)).map((f) => `${f.sha256} ${f.executable ? 'x' : '-'} ${f.path}\n`)
  return sha256(lines.join(''))
}

export function isTemplateSystem(system: string): system is TemplateSystem {
  return Object.hasOwn(templateSystems, system)
}

/** The template of this repository (or of `root`, another clone) for one system. */
export async function computeTemplate(options: { system: TemplateSystem; root?: string }): Promise<Template> {
  const root = options.root ?? defaultRoot
  const imageDir = join(root, 'image')
  const arch = templateSystems[options.system]
  const packageSet = await Promise.all((await packageSetFiles(imageDir)).map((path) => describeFile(imageDir, path)))
  const single = async (name: string, path: string, description: string): Promise<TemplateComponent> => {
    const file = await describeFile(imageDir, path)
    return { name, sha256: file.sha256, description: `${description} (image/${path})` }
  }
  const components: TemplateComponent[] = [
    { name: 'backend', sha256: sha256(await bundleBackend(root)), description: 'the back end as bundled for the machine (dapp/main.ts, esbuild)' },
    { name: 'package-set', sha256: manifestSha256(packageSet), description: 'every file evaluation reads (image/pkgs and the locks)', files: packageSet },
    await single('sources-lock', 'sources.lock.json', 'the upstream sources'),
    await single('seed-lock', join('seed', `${arch}.lock.json`), `the seed of tools for ${arch}`),
    await single('nix-settings', join('nix', 'nix.conf'), "Nix's settings"),
    { name: 'system', sha256: sha256(options.system), description: `the system built for: ${options.system}` },
    ...(options.system === 'riscv64-linux' ? await vmComponents(root) : []),
  ]
  const text = [`cartenix-template ${templateVersion}\n`, ...components.map((c) => `${c.name} ${c.sha256}\n`)].join('')
  return { version: templateVersion, system: options.system, hash: `0x${sha256(text)}`, components }
}

/**
 * What the riscv64 machine adds: the root file system's pinned packages (image/rootfs/lock.json;
 * with the rest of the template they decide the image byte for byte), the VM's pinned kernel and
 * busybox (image/vm/lock.json), what the initramfs is made of (its /init and module list: the same inputs give the
 * same bytes), the machine's PID 1 and the guest half of the rollup relay.
 */
async function vmComponents(root: string): Promise<TemplateComponent[]> {
  const lock = await describeFile(join(root, 'image', 'vm'), 'lock.json')
  const treeLock = await describeFile(join(root, 'image', 'rootfs'), 'lock.json')
  return [
    { name: 'tree-lock', sha256: treeLock.sha256, description: "every Debian package of the machine's root file system (image/rootfs/lock.json)" },
    { name: 'vm-lock', sha256: lock.sha256, description: 'the pinned riscv64 kernel and busybox (image/vm/lock.json)' },
    { name: 'vm-initramfs', sha256: sha256(`${initScript}\n${initramfsModules.join('\n')}`), description: "the initramfs's /init and modules (image/vm/initramfs.ts)" },
    { name: 'vm-init', sha256: sha256(vmInit), description: "the VM's PID 1 on the machine's root (image/vm/guest-init.ts)" },
    { name: 'relay', sha256: sha256(await bundleRelay(root)), description: 'the rollup relay inside the VM, as bundled (image/vm/relay/guest.ts)' },
  ]
}

/** The system this host builds for, named without asking Nix (the template needs no store). */
export function hostTemplateSystem(): TemplateSystem {
  if (process.arch === 'x64') return 'x86_64-linux'
  if (process.arch === 'riscv64') return 'riscv64-linux'
  throw new Error(`Cartenix has no seed for ${process.arch}: pass --system x86_64-linux or riscv64-linux`)
}
