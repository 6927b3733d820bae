/**
 * `npm run bench`: how Cartenix performs on this machine, with real Nix, a real anvil and the
 * real contracts. Prints a table (each figure beside its target, met or not met; nothing is
 * asserted) and writes every figure to .cartenix/bench/results.json. Each section is named by
 * what it measures (report.ts: `sections`); `--only` takes those names, `--help` lists them and
 * every option.
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
import { failedSection, renderTable, sectionNames, sections, writeJson, type SectionName, type SectionResult } from './report.ts'
import { benchQuorum } from './quorum.ts'
import { benchRiscv, riscvWays, type RiscvWay } from './riscv.ts'
import { benchSizes } from './sizes.ts'
import { benchUpload } from './upload.ts'
import { seconds } from './stats.ts'

const defaults = {
  rounds: '5',
  singles: '10',
  burst: '100',
  inputs: '100',
  merkle: '1000,10000,100000',
  riscv64: riscvWays.join(','),
  narinfos: '100',
  cacheRounds: '3',
  uploadMiB: '1',
  epochs: '10',
  out: join(repoRoot, '.cartenix', 'bench', 'results.json'),
}

const nameWidth = Math.max(...sectionNames.map((name) => name.length)) + 2
const usage = `Usage: npm run bench -- [options]

How Cartenix performs on this machine, with real Nix, a real anvil and the real contracts: a
table of figures beside their targets (never asserted), every figure written to a JSON file.

Sections (all by default):
${sectionNames.map((name) => `  ${name.padEnd(nameWidth)}${sections[name]}`).join('\n')}

Options:
  --only NAMES            the sections to run, comma-separated (e.g. --only merkle,sizes)
  --rounds N              overhead: pairs of builds (default ${defaults.rounds})
  --singles N             cached: requests one at a time (default ${defaults.singles})
  --burst N               cached: requests in a row (default ${defaults.burst})
  --merkle N,N,...        merkle: tree sizes (default ${defaults.merkle})
  --inputs N              latency: inputs (default ${defaults.inputs})
  --riscv64 WAYS          riscv64: which runs, of ${riscvWays.join(',')} (default all)
  --narinfos N            binary-cache: warm narinfo requests (default ${defaults.narinfos})
  --cache-rounds N        binary-cache: rounds of nix copy (default ${defaults.cacheRounds})
  --upload-mib N          upload: MiB uploaded (default ${defaults.uploadMiB})
  --epochs N              quorum: inputs, one epoch each, for each consensus (default ${defaults.epochs})
  --out FILE              where the figures go (default ${defaults.out})
  -h, --help              this text
`

/** A mistake on the command line: said with the usage, exit status 2. */
function usageError(message: string): never {
  console.error(`bench: ${message}\n\n${usage}`)
  process.exit(2)
}

const parsed = (() => {
  try {
    return parseArgs({
      options: {
        help: { type: 'boolean', short: 'h', default: false },
        only: { type: 'string', default: sectionNames.join(',') },
        rounds: { type: 'string', default: defaults.rounds },
        singles: { type: 'string', default: defaults.singles },
        burst: { type: 'string', default: defaults.burst },
        inputs: { type: 'string', default: defaults.inputs },
        merkle: { type: 'string', default: defaults.merkle },
        riscv64: { type: 'string', default: defaults.riscv64 },
        narinfos: { type: 'string', default: defaults.narinfos },
        'cache-rounds': { type: 'string', default: defaults.cacheRounds },
        'upload-mib': { type: 'string', default: defaults.uploadMiB },
        epochs: { type: 'string', default: defaults.epochs },
        out: { type: 'string', default: defaults.out },
      },
    })
  } catch (error) {
    return usageError((error as Error).message)
  }
})()
const { values } = parsed
if (values.help) {
  console.log(usage)
  process.exit(0)
}

/** A positive integer option, capped so that every loop of the bench stays bounded. */
function positive(name: string, text: string | undefined, cap: number): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1 || n > cap) usageError(`--${name} must be an integer from 1 to ${cap}, got ${text}`)
  return n
}
const isSectionName = (name: string): name is SectionName => (sectionNames as readonly string[]).includes(name)
const only = new Set<SectionName>()
for (const name of (values.only ?? '').split(',').map((n) => n.trim()).filter(Boolean)) {
  if (!isSectionName(name)) usageError(`--only takes section names (${sectionNames.join(', ')}); got ${name}`)
  only.add(name)
}
if (only.size === 0) usageError('--only names no section')
const rounds = positive('rounds', values.rounds, 20)
const singles = positive('singles', values.singles, 1000)
const burst = positive('burst', values.burst, 10_000)
const inputs = positive('inputs', values.inputs, 10_000)
const narinfos = positive('narinfos', values.narinfos, 10_000)
const cacheRounds = positive('cache-rounds', values['cache-rounds'], 20)
const uploadMiB = positive('upload-mib', values['upload-mib'], 64)
const epochs = positive('epochs', values.epochs, 100)
const merkleSizes = (values.merkle ?? '').split(',').map((n) => positive('merkle', n, 1_000_000))
const outPath = values.out ?? ''
const ways = (values.riscv64 ?? '').split(',').filter(Boolean) as RiscvWay[]
for (const way of ways) if (!riscvWays.includes(way)) usageError(`--riscv64 takes ${riscvWays.join(', ')}; got ${way}`)

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
async function section(name: SectionName, what: string, run: () => Promise<SectionResult>): Promise<SectionResult> {
  const t0 = performance.now()
  const watch = watchNeighbours()
  try {
    const result = await run()
    log(`${name} (${what}): done in ${seconds(performance.now() - t0)}`)
    const neighbours = await watch.stop()
    const disturbed = neighbours.length > 0 ? [`While measuring ${what}, other Nix processes ran on this machine: ${describeNeighbours(neighbours)}.`] : []
    return { ...result, data: { ...result.data, sectionMs: performance.now() - t0, neighbours }, notes: [...result.notes, ...disturbed] }
  } catch (error) {
    await watch.stop()
    failures++
    log(`${name} (${what}) failed: ${(error as Error).stack ?? String(error)}`)
    return failedSection(name, what, error)
  }
}

/** Each section's outcome under its name; `devnet` when the devnet the sections share could not start. */
const results: Partial<Record<SectionName | 'devnet', SectionResult>> = {}
// Before any devnet: the tree is pure CPU work, and the dev node shares this process.
if (only.has('merkle')) results.merkle = await section('merkle', 'Merkle tree', () => benchMerkle(merkleSizes, log))
const onDevnet = (['overhead', 'cached', 'binary-cache', 'upload'] as const).filter((name) => only.has(name))
if (onDevnet.length > 0) {
  // These share one devnet with the real back end; cached and binary-cache reuse the output overhead leaves behind.
  await withChain(true, async (chain) => {
    if (only.has('overhead')) results.overhead = await section('overhead', 'rollup overhead', () => benchOverhead(chain, rounds, log))
    if (only.has('cached')) results.cached = await section('cached', 'cached answers', () => benchCached(chain, singles, burst, log))
    if (only.has('binary-cache')) results['binary-cache'] = await section('binary-cache', 'binary cache', () => benchCache(chain, narinfos, cacheRounds, log))
    if (only.has('upload')) results.upload = await section('upload', 'sources through the rollup', () => benchUpload(chain, uploadMiB, log))
  }).catch((error: unknown) => {
    failures++
    log(`devnet: ${(error as Error).message}`)
    results.devnet = failedSection(onDevnet[0] ?? 'overhead', 'rollup devnet', error)
  })
}
if (only.has('latency')) {
  results.latency = await section('latency', 'input latency', async () => {
    let result: SectionResult | undefined
    await withChain(false, async (chain) => {
      result = await benchLatency(chain, inputs, log)
    })
    if (!result) throw new Error('The latency bench returned nothing')
    return result
  })
}

if (only.has('quorum')) results.quorum = await section('quorum', 'consensus', () => benchQuorum(epochs, log))

// Last: after the overhead section the unpacked seed of the current package set is surely in the store.
if (only.has('sizes')) results.sizes = await section('sizes', 'sizes', benchSizes)
if (only.has('riscv64')) results.riscv64 = await section('riscv64', 'riscv64 under emulation', () => benchRiscv(ways, log))

const totalMs = performance.now() - started
const rows = Object.values(results)
  .flatMap((r) => r.rows)
  .sort((a, b) => sectionNames.indexOf(a.section) - sectionNames.indexOf(b.section))
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
