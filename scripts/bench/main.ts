/**
 * `npm run bench`: how Cartenix performs on this machine, with real Nix, a real anvil and the
 * real contracts. Prints a table (each figure beside its target, met or not met; nothing is
 * asserted) and writes every figure to .cartenix/bench/results.json.
 *
 *   1 rollup overhead on a cold build    3 Merkle tree appends and proofs   5 riscv64 under emulation
 *   2 cached answers, latency and rate   4 input to back end, no build      6 sizes
 *   7 the verified binary cache (narinfo latency, NAR throughput against a file:// cache)
 *   8 sources through the rollup (inputs, gas and wall time per MiB uploaded)
 *
 * Options: --only 1,2,… (items), --rounds N (item 1 pairs), --singles N and --burst N (item 2),
 * --inputs N (item 4), --merkle 1000,10000,100000 (item 3), --narinfos N and --cache-rounds N
 * (item 7), --upload-mib N (item 8), --out FILE.
 */
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runNix } from '../../dapp/nix/env.ts'
import { repoRoot } from '../../dapp/lib/paths.ts'
import { exec } from '../../dapp/lib/exec.ts'
import { benchCache } from './cache.ts'
import { benchCached } from './cached.ts'
import { startBenchChain, type BenchChain } from './chain.ts'
import { benchLatency } from './latency.ts'
import { benchMerkle } from './merkle.ts'
import { describeNeighbours, watchNeighbours } from './neighbours.ts'
import { benchOverhead } from './overhead.ts'
import { failedSection, renderTable, writeJson, type SectionResult } from './report.ts'
import { benchRiscv, riscvWays, type RiscvWay } from './riscv.ts'
import { benchSizes } from './sizes.ts'
import { benchUpload } from './upload.ts'
import { seconds } from './stats.ts'

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: '1,2,3,4,5,6,7,8' },
    rounds: { type: 'string', default: '5' },
    singles: { type: 'string', default: '10' },
    burst: { type: 'string', default: '100' },
    inputs: { type: 'string', default: '100' },
    merkle: { type: 'string', default: '1000,10000,100000' },
    riscv64: { type: 'string', default: riscvWays.join(',') },
    narinfos: { type: 'string', default: '100' },
    'cache-rounds': { type: 'string', default: '3' },
    'upload-mib': { type: 'string', default: '1' },
    out: { type: 'string', default: join(repoRoot, '.cartenix', 'bench', 'results.json') },
  },
})

/** A positive integer option, capped so that every loop of the bench stays bounded. */
function positive(name: string, text: string | undefined, cap: number): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1 || n > cap) throw new Error(`--${name} must be an integer from 1 to ${cap}, got ${text}`)
  return n
}
const items = new Set((values.only ?? '').split(',').map(Number))
const rounds = positive('rounds', values.rounds, 20)
const singles = positive('singles', values.singles, 1000)
const burst = positive('burst', values.burst, 10_000)
const inputs = positive('inputs', values.inputs, 10_000)
const narinfos = positive('narinfos', values.narinfos, 10_000)
const cacheRounds = positive('cache-rounds', values['cache-rounds'], 20)
const uploadMiB = positive('upload-mib', values['upload-mib'], 64)
const merkleSizes = (values.merkle ?? '').split(',').map((n) => positive('merkle', n, 1_000_000))
const outPath = values.out ?? ''
const ways = (values.riscv64 ?? '').split(',').filter(Boolean) as RiscvWay[]
for (const way of ways) if (!riscvWays.includes(way)) throw new Error(`--riscv64 takes ${riscvWays.join(', ')}; got ${way}`)

const log = (line: string) => console.error(`bench: ${line}`)
const started = performance.now()
const startedAt = new Date().toISOString()
const loadBefore = loadavg()
// Figures belong to the code that ran: the commit, and any uncommitted changes, as at the start.
const commit = await exec('git', ['rev-parse', 'HEAD'], { cwd: repoRoot }).then((r) => r.stdout.trim(), () => 'unknown')
const uncommitted = await exec('git', ['status', '--porcelain'], { cwd: repoRoot }).then((r) => r.stdout.split('\n').filter(Boolean), () => [])

// Devnets still running are stopped on Ctrl-C as on any other way out.
const running = new Set<BenchChain>()
/** Sections that could not run (targets missed are not failures). */
let failures = 0
const stopAll = () => Promise.all([...running].map((chain) => chain.stop().catch(() => {})))
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)))

async function withChain(backend: boolean, run: (chain: BenchChain) => Promise<void>): Promise<void> {
  log(`starting a devnet (${backend ? 'with' : 'without'} the back end)`)
  const chain = await startBenchChain({ backend })
  running.add(chain)
  const failuresBefore = failures
  // The devnet's own log explains most failures inside it (sections catch their errors themselves).
  const showLog = () => {
    const tail = chain.backendLog()
    if (tail.length > 0) log(`devnet log before the failure:\n  ${tail.join('\n  ')}`)
  }
  try {
    await run(chain)
    if (failures > failuresBefore) showLog()
  } catch (error) {
    showLog()
    throw error
  } finally {
    running.delete(chain)
    await chain.stop()
  }
}

/** Runs a section; a failure becomes a "not measured" row, and the other sections still run. */
async function section(item: number, what: string, run: () => Promise<SectionResult>): Promise<SectionResult> {
  const t0 = performance.now()
  const watch = watchNeighbours()
  try {
    const result = await run()
    log(`${what}: done in ${seconds(performance.now() - t0)}`)
    const neighbours = await watch.stop()
    const disturbed = neighbours.length > 0 ? [`While measuring ${what}, other Nix processes ran on this machine: ${describeNeighbours(neighbours)}.`] : []
    return { ...result, data: { ...result.data, sectionMs: performance.now() - t0, neighbours }, notes: [...result.notes, ...disturbed] }
  } catch (error) {
    await watch.stop()
    failures++
    log(`${what} failed: ${(error as Error).stack ?? String(error)}`)
    return failedSection(item, what, error)
  }
}

const results: Record<string, SectionResult> = {}
// Before any devnet: the tree is pure CPU work, and the dev node shares this process.
if (items.has(3)) results.merkle = await section(3, 'Merkle tree', () => benchMerkle(merkleSizes, log))
if (items.has(1) || items.has(2) || items.has(7) || items.has(8)) {
  // Items 1, 2, 7 and 8 share one devnet with the real back end; 2 and 7 reuse the output 1 leaves behind.
  await withChain(true, async (chain) => {
    if (items.has(1)) results.overhead = await section(1, 'rollup overhead', () => benchOverhead(chain, rounds, log))
    if (items.has(2)) results.cached = await section(2, 'cached answers', () => benchCached(chain, singles, burst, log))
    if (items.has(7)) results.cache = await section(7, 'binary cache', () => benchCache(chain, narinfos, cacheRounds, log))
    if (items.has(8)) results.upload = await section(8, 'sources through the rollup', () => benchUpload(chain, uploadMiB, log))
  }).catch((error: unknown) => {
    failures++
    log(`devnet: ${(error as Error).message}`)
    results.devnet = failedSection(items.has(1) ? 1 : items.has(2) ? 2 : items.has(7) ? 7 : 8, 'rollup devnet', error)
  })
}
if (items.has(4)) {
  results.latency = await section(4, 'input latency', async () => {
    let result: SectionResult | undefined
    await withChain(false, async (chain) => {
      result = await benchLatency(chain, inputs, log)
    })
    if (!result) throw new Error('The latency bench returned nothing')
    return result
  })
}

// Last: after item 1 the unpacked seed of the current package set is surely in the store.
if (items.has(6)) results.sizes = await section(6, 'sizes', benchSizes)
if (items.has(5)) results.riscv64 = await section(5, 'riscv64 under emulation', () => benchRiscv(ways, log))

const totalMs = performance.now() - started
const rows = Object.values(results)
  .flatMap((r) => r.rows)
  .sort((a, b) => a.item - b.item)
const nixVersion = await runNix('nix-store', ['--version']).then((r) => r.stdout.trim(), () => 'unknown')
const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', totalMemBytes: totalmem(), node: process.version, nix: nixVersion, commit, uncommitted }

console.log(renderTable(rows))
console.log('')
for (const note of Object.values(results).flatMap((r) => r.notes)) console.log(`- ${note}`)
console.log(
  `- Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.nix}, Node ${machine.node}; ` +
    `load average ${loadBefore[0]?.toFixed(2)} before, ${loadavg()[0]?.toFixed(2)} after. Total run time ${seconds(totalMs)}.`,
)
await writeJson(outPath, { startedAt, totalMs, machine, loadAverage: { before: loadBefore, after: loadavg() }, options: values, rows, sections: results })
console.log(`- Figures written to ${outPath}`)
// Targets missed do not fail the run; a section that could not run does.
process.exitCode = failures > 0 ? 1 : 0
