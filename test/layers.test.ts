/**
 * The layering, asserted on every source file. Floors from the bottom up:
 *
 *   dapp/lib, dapp/protocol  <  dapp/nix  <  the back end proper (the rest of dapp/)
 *   dapp/{lib,protocol,nix}  <  image/  <  contracts-client/  <  web/  <  scripts/  <  bin/
 *
 * A file may import its own floor and the floors below it that its rule names, nothing above; no
 * floor outside dapp/ names the back end proper. The back end the machine runs is dapp/ alone: its
 * bundle is made of files under dapp/ (and packages; the riscv64 VM adds its own relay and PID 1
 * from image/vm, which the template also commits to), and what a browser loads (the closure of
 * contracts-client/index.ts and of dapp/protocol) imports no package but viem and zod. test/ and
 * the root's configuration files (vitest.config.ts, vitest.riscv64.config.ts) may import anything;
 * any other file at the root, or anywhere outside the floors, is on no floor and fails the test.
 * A unit test beside the code (`x.test.ts`) follows its folder's rule for the repository's files
 * and may use any package. On every floor, a specifier is a relative path or a package's name: an
 * absolute path or a `#subpath` import is a violation.
 *
 * Seen: static imports and re-exports (`import type` too), and import() or require() of a literal
 * string. Not seen: an import by a computed path (`import(variable)`), a program started by its
 * path (`spawn(node, ['dapp/main.ts'])`), a file read at run time.
 */
import { readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { backendBundleInputs } from '../image/template.ts'

const repo = fileURLToPath(new URL('../', import.meta.url))

/** A floor: which files are on it, which repository files and packages they may import. */
type Floor = {
  name: string
  holds: (path: string) => boolean
  /** Floors (by name) or single files a file on this floor may import; its own floor always. */
  imports: readonly string[]
  /** Packages it may import: `node:` built-ins, npm packages by name; '*' for any. */
  packages: readonly string[] | '*'
}

const under = (dir: string) => (path: string) => path.startsWith(`${dir}/`)

/** The files at the root that may import anything: the configuration that exists, nothing else. */
const configurationFiles: readonly string[] = ['vitest.config.ts', 'vitest.riscv64.config.ts']

/** Lowest first; a file belongs to the first floor that holds it. */
export const floors: readonly Floor[] = [
  { name: 'dapp/lib', holds: under('dapp/lib'), imports: [], packages: ['node:'] },
  { name: 'dapp/protocol', holds: under('dapp/protocol'), imports: ['dapp/lib/errors.ts'], packages: ['viem', 'zod'] },
  { name: 'dapp/nix', holds: under('dapp/nix'), imports: ['dapp/lib', 'dapp/protocol'], packages: ['node:', 'viem', 'zod'] },
  { name: 'dapp (the back end)', holds: under('dapp'), imports: ['dapp/lib', 'dapp/protocol', 'dapp/nix'], packages: ['node:', 'viem', 'zod'] },
  { name: 'image', holds: under('image'), imports: ['dapp/lib', 'dapp/protocol', 'dapp/nix'], packages: '*' },
  { name: 'contracts-client', holds: under('contracts-client'), imports: ['dapp/lib', 'dapp/protocol', 'dapp/nix', 'image'], packages: '*' },
  { name: 'web/src (the page)', holds: under('web/src'), imports: ['contracts-client/index.ts', 'dapp/protocol'], packages: ['viem', 'zod'] },
  { name: 'web', holds: under('web'), imports: ['dapp/lib', 'dapp/protocol', 'dapp/nix', 'image', 'contracts-client', 'web/src (the page)'], packages: '*' },
  { name: 'scripts', holds: under('scripts'), imports: ['dapp/lib', 'dapp/protocol', 'dapp/nix', 'image', 'contracts-client', 'web', 'web/src (the page)'], packages: '*' },
  { name: 'bin', holds: under('bin'), imports: ['scripts'], packages: '*' },
  { name: 'test', holds: under('test'), imports: ['*'], packages: '*' },
  { name: 'configuration', holds: (path) => configurationFiles.includes(path), imports: ['*'], packages: '*' },
]

export const floorOf = (path: string): Floor | undefined => floors.find((f) => f.holds(path))

export type SourceFile = { path: string; imports: string[] }

/** A file's import specifiers (static, re-exports, and import() or require() with a literal). */
export async function readImports(path: string): Promise<string[]> {
  const text = await readFile(join(repo, path), 'utf8')
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName)
}

const isRelative = (specifier: string) => /^\.\.?(\/|$)/.test(specifier)

/** A relative specifier as a path from the repository's root; undefined for any other. */
const resolveSpecifier = (from: string, specifier: string) =>
  isRelative(specifier) ? relative(repo, resolve(repo, dirname(from), specifier)) : undefined

const isUnitTest = (path: string) => /\.test\.[cm]?[jt]sx?$/.test(path)

/** The package a specifier names (`viem` for `viem/accounts`, `node:` for any built-in); undefined when it names none. */
const packageOf = (specifier: string): string | undefined => {
  if (specifier.startsWith('node:')) return 'node:'
  const name = specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/')
  return /^(@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/.test(name) ? name : undefined
}

const onNoFloor = `on no floor (the root holds only ${configurationFiles.join(', ')})`

/** Every import that breaks the rules, as a sentence that names the file, the import and the rule. */
export function layerViolations(files: readonly SourceFile[]): string[] {
  const problems: string[] = []
  for (const file of files) {
    const floor = floorOf(file.path)
    if (!floor) {
      problems.push(`${file.path} is ${onNoFloor}`)
      continue
    }
    for (const specifier of file.imports) {
      const target = resolveSpecifier(file.path, specifier)
      if (target === undefined) {
        const name = packageOf(specifier)
        if (name === undefined) {
          problems.push(`${file.path} imports ${specifier}: a specifier is a relative path or a package's name`)
        } else if (floor.packages !== '*' && !floor.packages.includes(name) && !isUnitTest(file.path)) {
          problems.push(`${file.path} imports ${specifier}: ${floor.name} may import only the packages ${floor.packages.join(', ')}`)
        }
        continue
      }
      const targetFloor = floorOf(target)
      if (!targetFloor) {
        problems.push(`${file.path} imports ${target}, which is ${onNoFloor}`)
        continue
      }
      const allowed =
        floor.imports.includes('*') || targetFloor === floor || floor.imports.includes(targetFloor.name) || floor.imports.includes(target)
      if (!allowed) {
        problems.push(
          `${file.path} imports ${target}, on the floor ${targetFloor.name}: ${floor.name} may import ${[floor.name, ...floor.imports].join(', ')}`,
        )
      }
    }
  }
  return problems
}

/** The repository files a file reaches through its imports, itself included. */
export function closure(files: readonly SourceFile[], start: string): string[] {
  const byPath = new Map(files.map((f) => [f.path, f]))
  const seen = new Set<string>()
  const visit = (path: string) => {
    if (seen.has(path)) return
    seen.add(path)
    for (const specifier of byPath.get(path)?.imports ?? []) {
      const target = resolveSpecifier(path, specifier)
      if (target !== undefined) visit(target)
    }
  }
  visit(start)
  return [...seen]
}

/** The only packages a browser loads. */
const browserPackages: readonly string[] = ['viem', 'zod']

/** Every import in the closure of the entries that is not viem or zod (any subpath), once each, with the first entry that reaches it. */
export function foreignBrowserImports(files: readonly SourceFile[], entries: readonly string[]): string[] {
  const byPath = new Map(files.map((f) => [f.path, f]))
  const problems = new Map<string, string>()
  for (const entry of entries) {
    for (const path of closure(files, entry)) {
      for (const specifier of byPath.get(path)?.imports ?? []) {
        if (isRelative(specifier)) continue
        const name = packageOf(specifier)
        if (name !== undefined && browserPackages.includes(name)) continue
        const key = `${path} imports ${specifier}`
        if (!problems.has(key)) problems.set(key, `${key} (reached from ${entry}): a browser loads only the packages ${browserPackages.join(', ')}`)
      }
    }
  }
  return [...problems.values()]
}

/** The inputs of the back end's bundle that are neither under dapp/ nor packages. */
export const foreignBundleInputs = (inputs: readonly string[]): string[] =>
  inputs.filter((path) => !path.startsWith('dapp/') && !path.startsWith('node_modules/'))

const sourcePatterns = ['*.ts', '*.tsx', '*.mts', '*.cts', '*.js', '*.jsx', '*.mjs', '*.cjs']
const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).split('\n').filter(Boolean)
// The working tree's source files: tracked or new, not ignored, and not deleted (git still lists a
// tracked file deleted from the tree). A file listed here that cannot be read fails the test.
const deleted = new Set(git('ls-files', '--deleted', '--', ...sourcePatterns))
const sources: SourceFile[] = await Promise.all(
  git('ls-files', '--cached', '--others', '--exclude-standard', '--', ...sourcePatterns)
    .filter((path) => !path.startsWith('node_modules/') && !deleted.has(path))
    .map(async (path) => ({ path, imports: await readImports(path) })),
)

describe('the layers', () => {
  it('every source file imports only its own floor and the floors its rule names', () => {
    expect(layerViolations(sources)).toEqual([])
  })

  it('names a planted wrong-way import, a Node module where a browser loads the code, the back end imported, a file on no floor, a specifier that names no package', () => {
    const planted: SourceFile[] = [
      { path: 'dapp/protocol/planted.ts', imports: ['../../scripts/cli/main.ts', 'node:fs', './request.ts'] },
      { path: 'image/planted.ts', imports: ['../contracts-client/index.ts'] },
      { path: 'web/src/planted.ts', imports: ['../../contracts-client/actions/getInput.ts'] },
      { path: 'scripts/planted.ts', imports: ['../dapp/handlers/advance.ts'] },
      { path: 'planted.ts', imports: ['./dapp/lib/exec.ts'] },
      { path: 'test/planted.test.ts', imports: ['#internal/exec', '/srv/cartenix/dapp/lib/exec.ts', '../vitest.config.ts', '../docs/planted.ts'] },
    ]
    expect(layerViolations([...sources, ...planted])).toEqual([
      'dapp/protocol/planted.ts imports scripts/cli/main.ts, on the floor scripts: dapp/protocol may import dapp/protocol, dapp/lib/errors.ts',
      'dapp/protocol/planted.ts imports node:fs: dapp/protocol may import only the packages viem, zod',
      'image/planted.ts imports contracts-client/index.ts, on the floor contracts-client: image may import image, dapp/lib, dapp/protocol, dapp/nix',
      'web/src/planted.ts imports contracts-client/actions/getInput.ts, on the floor contracts-client: web/src (the page) may import web/src (the page), contracts-client/index.ts, dapp/protocol',
      'scripts/planted.ts imports dapp/handlers/advance.ts, on the floor dapp (the back end): scripts may import scripts, dapp/lib, dapp/protocol, dapp/nix, image, contracts-client, web, web/src (the page)',
      `planted.ts is on no floor (the root holds only vitest.config.ts, vitest.riscv64.config.ts)`,
      "test/planted.test.ts imports #internal/exec: a specifier is a relative path or a package's name",
      "test/planted.test.ts imports /srv/cartenix/dapp/lib/exec.ts: a specifier is a relative path or a package's name",
      'test/planted.test.ts imports docs/planted.ts, which is on no floor (the root holds only vitest.config.ts, vitest.riscv64.config.ts)',
    ])
  })

  it('what a browser loads imports no package but viem and zod: the closure of contracts-client/index.ts and of dapp/protocol', () => {
    const entries = ['contracts-client/index.ts', ...sources.filter((f) => f.path.startsWith('dapp/protocol/') && !isUnitTest(f.path)).map((f) => f.path)]
    expect(foreignBrowserImports(sources, entries)).toEqual([])
    // The check can fail: the Node-only entry does reach Node modules, and a planted file is named import by import.
    expect(foreignBrowserImports(sources, ['contracts-client/host.ts']).some((problem) => / imports node:/.test(problem))).toBe(true)
    const planted: SourceFile = { path: 'contracts-client/planted.ts', imports: ['viem/accounts', 'zod/v4', 'node:crypto', 'hono', '#internal', '../dapp/protocol/inspect.ts'] }
    expect(foreignBrowserImports([...sources, planted], [planted.path])).toEqual([
      'contracts-client/planted.ts imports node:crypto (reached from contracts-client/planted.ts): a browser loads only the packages viem, zod',
      'contracts-client/planted.ts imports hono (reached from contracts-client/planted.ts): a browser loads only the packages viem, zod',
      'contracts-client/planted.ts imports #internal (reached from contracts-client/planted.ts): a browser loads only the packages viem, zod',
    ])
  })

  it('the back end the machine runs is made of files under dapp/ and packages only', async () => {
    const inputs = await backendBundleInputs()
    expect(inputs.some((path) => path === 'dapp/main.ts')).toBe(true)
    expect(foreignBundleInputs(inputs)).toEqual([])
    // The check can fail: a file of image/ among the inputs is named.
    expect(foreignBundleInputs([...inputs, 'image/template.ts'])).toEqual(['image/template.ts'])
  })
})
