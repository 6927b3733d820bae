/**
 * Builds the web page (web/src) into a few static files with esbuild: `index.html`, `app.js`,
 * `style.css`. The page reuses contracts-client's actions; two of the modules they import read
 * files at run time in Node (the rollups ABIs from `@cartesi/rollups`, the registry compiled by
 * solc), so the bundle gets their values instead, computed here from the same modules: the page
 * and the CLI use the same ABIs. Anything else that reaches for Node fails the build.
 *
 *   npx tsx web/build.ts [--out DIR]     writes the files (default web/dist) and prints their sizes
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build, type Plugin } from 'esbuild'
import * as rollups from '../contracts-client/abi/rollups.ts'
import { compileContract } from '../contracts-client/contracts/compile.ts'

const here = dirname(fileURLToPath(import.meta.url))

export type PageFiles = Map<string, { body: Uint8Array<ArrayBuffer>; type: string }>

/** The modules swapped for build-time values: absolute path → source of the replacement. */
async function buildTimeModules(): Promise<Map<string, string>> {
  const abis = Object.entries(rollups).filter(([name]) => name.endsWith('Abi'))
  const registry = await compileContract('CartenixRegistry')
  return new Map([
    [join(here, '../contracts-client/abi/rollups.ts'), abis.map(([name, abi]) => `export const ${name} = ${JSON.stringify(abi)}`).join('\n')],
    [
      join(here, '../contracts-client/contracts/compile.ts'),
      `const compiled = { CartenixRegistry: ${JSON.stringify({ abi: registry.abi, bytecode: registry.bytecode })} }
export async function compileContract(name) {
  const contract = compiled[name]
  if (!contract) throw new Error('The page carries no contract ' + name)
  return contract
}`,
    ],
  ])
}

function buildTimeValues(modules: Map<string, string>): Plugin {
  return {
    name: 'cartenix-build-time-values',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        const contents = modules.get(args.path)
        return contents === undefined ? undefined : { contents, loader: 'js' }
      })
    },
  }
}

/** Bundles the page; `sizes` are the bytes of each file, raw and gzipped. */
export async function buildPage(): Promise<{ files: PageFiles; sizes: Record<string, { bytes: number; gzip: number }> }> {
  const result = await build({
    entryPoints: [join(here, 'src/main.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    outfile: 'app.js',
    plugins: [buildTimeValues(await buildTimeModules())],
    logLevel: 'silent',
  })
  const files: PageFiles = new Map()
  files.set('app.js', { body: new Uint8Array(result.outputFiles[0]?.contents ?? []), type: 'text/javascript; charset=utf-8' })
  files.set('index.html', { body: new Uint8Array(await readFile(join(here, 'index.html'))), type: 'text/html; charset=utf-8' })
  files.set('style.css', { body: new Uint8Array(await readFile(join(here, 'style.css'))), type: 'text/css; charset=utf-8' })
  const sizes = Object.fromEntries([...files].map(([name, file]) => [name, { bytes: file.body.length, gzip: gzipSync(file.body).length }]))
  return { files, sizes }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const flag = process.argv.indexOf('--out')
  const out = flag >= 0 ? process.argv[flag + 1] : join(here, 'dist')
  if (!out) throw new Error('--out needs a directory')
  const { files, sizes } = await buildPage()
  await mkdir(out, { recursive: true })
  for (const [name, file] of files) await writeFile(join(out, name), file.body)
  for (const [name, size] of Object.entries(sizes)) console.log(`${name.padEnd(12)} ${String(size.bytes).padStart(8)} bytes  ${String(size.gzip).padStart(7)} gzipped`)
  console.log(`wrote ${out}; put a config.json beside index.html (see README) or pass ?node=…&chain=… in the URL`)
}
