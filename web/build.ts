/**
 * Builds the web page (web/src) into a few static files with esbuild: `index.html`, `app.js`,
 * `style.css`. The page takes the client library through its browser entry
 * (contracts-client/index.ts, whose ABIs are static data) and is bundled as is, for the browser:
 * anything that reaches for a Node module fails the build.
 *
 *   npx tsx web/build.ts [--out DIR]     writes the files (default web/dist) and prints their sizes
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))

export type PageFiles = Map<string, { body: Uint8Array<ArrayBuffer>; type: string }>

/** Bundles the page (or another entry, for tests); `sizes` are the bytes of each file, raw and gzipped. */
export async function buildPage(entry = join(here, 'src/main.ts')): Promise<{ files: PageFiles; sizes: Record<string, { bytes: number; gzip: number }> }> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    outfile: 'app.js',
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
  console.log(`wrote ${out}; put a config.json beside index.html (see docs/web.md) or pass ?node=…&chain=… in the URL`)
}
