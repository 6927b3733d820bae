/**
 * The layering, asserted on every source file. Floors from the bottom up:
 *
 *   dapp/lib, dapp/protocol  <  dapp/nix  <  the back end proper (the rest of dapp/)
 *   dapp/{lib,protocol,nix}  <  image/  <  contracts-client/  <  web/  <  scripts/  <  bin/
 *
 * A file may import its own floor and the floors below it that its rule names, nothing above.
 * The machine carries exactly dapp/: the back end's bundle is made of files under dapp/ (and
 * packages), and what a browser loads (contracts-client/index.ts, dapp/protocol) needs no `node:`.
 * test/ and the root's configuration files may import anything; a unit test beside the code
 * (`x.test.ts`) follows its folder's rule for the repository's files and may use any package.
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
  { name: 'configuration', holds: (path) => !path.includes('/'), imports: ['*'], packages: '*' },
]

export const floorOf = (path: string): Floor => {
  const floor = floors.find((f) => f.holds(path))
  if (!floor) throw new Error(`${path} is on no floor`)
  return floor
}

export type SourceFile = { path: string; imports: string[] }

/** A file's import specifiers (static, re-exports, and import() with a literal). */
export async function readImports(path: string): Promise<string[]> {
  const text = await readFile(join(repo, path), 'utf8')
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName)
}

/** A relative specifier as a path from the repository's root; undefined for a package. */
const resolveSpecifier = (from: string, specifier: string) =>
  specifier.startsWith('.') ? relative(repo, resolve(repo, dirname(from), specifier)) : undefined

const isUnitTest = (path: string) => path.endsWith('.test.ts')

const packageName = (specifier: string) =>
  specifier.startsWith('node:') ? 'node:' : specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/')

/** Every import that breaks the rules, as a sentence that names the file, the import and the rule. */
export function layerViolations(files: readonly SourceFile[]): string[] {
  const problems: string[] = []
  for (const file of files) {
    const floor = floorOf(file.path)
    for (const specifier of file.imports) {
      const target = resolveSpecifier(file.path, specifier)
      if (target === undefined) {
        const name = packageName(specifier)
        if (floor.packages !== '*' && !floor.packages.includes(name) && !isUnitTest(file.path)) {
          problems.push(`${file.path} imports ${specifier}: ${floor.name} may import only the packages ${floor.packages.join(', ')}`)
        }
        continue
      }
      const targetFloor = floorOf(target)
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

const sources: SourceFile[] = await Promise.all(
  execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.js'], { cwd: repo, encoding: 'utf8' })
    .split('\n')
    .filter((path) => path && !path.startsWith('node_modules/'))
    .map(async (path) => ({ path, imports: await readImports(path).catch(() => []) })),
)

describe('the layers', () => {
  it('every source file imports only its own floor and the floors its rule names', () => {
    expect(layerViolations(sources)).toEqual([])
  })

  it('names a planted wrong-way import, and a Node module where a browser loads the code', () => {
    const planted: SourceFile[] = [
      { path: 'dapp/protocol/planted.ts', imports: ['../../scripts/cli/main.ts', 'node:fs', './request.ts'] },
      { path: 'image/planted.ts', imports: ['../contracts-client/index.ts'] },
      { path: 'web/src/planted.ts', imports: ['../../contracts-client/actions/getInput.ts'] },
    ]
    expect(layerViolations([...sources, ...planted])).toEqual([
      'dapp/protocol/planted.ts imports scripts/cli/main.ts, on the floor scripts: dapp/protocol may import dapp/protocol, dapp/lib/errors.ts',
      'dapp/protocol/planted.ts imports node:fs: dapp/protocol may import only the packages viem, zod',
      'image/planted.ts imports contracts-client/index.ts, on the floor contracts-client: image may import image, dapp/lib, dapp/protocol, dapp/nix',
      'web/src/planted.ts imports contracts-client/actions/getInput.ts, on the floor contracts-client: web/src (the page) may import web/src (the page), contracts-client/index.ts, dapp/protocol',
    ])
  })

  it('what a browser loads needs no Node module: the closure of contracts-client/index.ts and of dapp/protocol', () => {
    const entries = ['contracts-client/index.ts', ...sources.filter((f) => f.path.startsWith('dapp/protocol/') && !f.path.endsWith('.test.ts')).map((f) => f.path)]
    const byPath = new Map(sources.map((f) => [f.path, f]))
    const nodeImports = entries.flatMap((entry) =>
      closure(sources, entry).flatMap((path) => (byPath.get(path)?.imports ?? []).filter((s) => s.startsWith('node:')).map((s) => `${entry}: ${path} imports ${s}`)),
    )
    expect(nodeImports).toEqual([])
    // The check can fail: the Node-only entry does reach Node modules.
    expect(closure(sources, 'contracts-client/host.ts').some((path) => byPath.get(path)?.imports.some((s) => s.startsWith('node:')))).toBe(true)
  })

  it('the back end the machine runs is made of files under dapp/ and packages only', async () => {
    const inputs = await backendBundleInputs()
    expect(inputs.some((path) => path === 'dapp/main.ts')).toBe(true)
    expect(inputs.filter((path) => !path.startsWith('dapp/') && !path.startsWith('node_modules/'))).toEqual([])
  })
})
