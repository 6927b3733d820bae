/**
 * The `merkle` section: the dev node's outputs Merkle tree. Appending N outputs and computing one
 * output's 63 siblings, for growing N. Appending should cost O(log N) per output (one hash per
 * level that N leaves reach; never more than the tree's 63), and a proof one lookup or pristine
 * hash per level.
 */
import { keccak256, numberToHex } from 'viem'
import { OutputsMerkleTree, rootFromProof } from '../devnode/merkle.ts'
import { judged, type Row, type SectionResult } from './report.ts'
import { count, median, millis } from './stats.ts'

/** Indices whose proofs are timed: both ends and spread between, so no lucky position is picked. */
const probes = (n: number) => [...new Set([0, Math.floor(n / 4), Math.floor(n / 2), Math.floor((3 * n) / 4), n - 1])]
/** Each probe is timed this many times; the slowest of all is what the target is judged on. */
const repeats = 3

export async function benchMerkle(sizes: readonly number[], log: (line: string) => void): Promise<SectionResult> {
  const largest = Math.max(...sizes)
  // Leaves are made beforehand: hashing the outputs themselves is not the tree's work.
  const leaves = Array.from({ length: largest }, (_, i) => keccak256(numberToHex(i, { size: 32 })))
  // One unrecorded pass lets the JIT compile append() before anything is timed, so the smallest N
  // is not penalised by warm-up (which would flatter the larger ones).
  const warmUp = new OutputsMerkleTree()
  for (const leaf of leaves.slice(0, 5000)) warmUp.append(leaf)

  const runs: { n: number; appendMs: number; perOutputMs: number; proofMs: number[] }[] = []
  for (const n of sizes) {
    log(`merkle: appending ${count(n)} outputs`)
    const tree = new OutputsMerkleTree()
    const start = performance.now()
    for (let i = 0; i < n; i++) tree.append(leaves[i] as `0x${string}`)
    const appendMs = performance.now() - start
    const root = tree.root()
    const proofMs: number[] = []
    for (const index of probes(n).flatMap((i) => Array<number>(repeats).fill(i))) {
      const t0 = performance.now()
      const siblings = tree.siblings(index)
      proofMs.push(performance.now() - t0)
      // A proof that does not lead back to the root would make its timing meaningless.
      if (siblings.length !== 63 || rootFromProof(leaves[index] as `0x${string}`, BigInt(index), siblings) !== root) {
        throw new Error(`The proof of output ${index} of ${n} does not give the tree's root`)
      }
    }
    runs.push({ n, appendMs, perOutputMs: appendMs / n, proofMs })
  }

  const first = runs[0]
  const last = runs[runs.length - 1]
  if (!first || !last) throw new Error('No Merkle tree sizes to measure')
  // O(log N) per output means the time per output divided by log2 N (the cost of one level) stays
  // about the same as N grows; 1.5x leaves room for what a bigger tree costs the garbage collector
  // and the caches, and a per-output cost growing faster than log N would exceed it at N=100,000.
  const perLevel = (run: (typeof runs)[number]) => run.perOutputMs / Math.log2(Math.max(2, run.n))
  const growth = perLevel(last) / perLevel(first)
  const allowedGrowth = 1.5
  const rows: Row[] = runs.map((run) => ({
    section: 'merkle',
    what: `append N=${count(run.n)} outputs`,
    figure: `${millis(run.perOutputMs)}/output = ${(perLevel(run) * 1000).toFixed(2)} us x log2 N (${millis(run.appendMs)} in all)`,
    target: run === last ? `O(log N): us x log2 N within ${allowedGrowth}x of N=${count(first.n)}'s; got ${growth.toFixed(2)}x` : '',
    status: run === last ? judged(growth <= allowedGrowth) : 'no target',
  }))
  for (const run of runs) {
    const proof = Math.max(...run.proofMs)
    rows.push({
      section: 'merkle',
      what: `63 siblings, N=${count(run.n)}`,
      figure: `max ${millis(proof)}, median ${millis(median(run.proofMs))} (${run.proofMs.length} proofs)`,
      target: run === last ? '< 50 ms' : '',
      status: run === last ? judged(proof < 50) : 'no target',
    })
  }
  return {
    rows,
    data: { runs: runs.map((r) => ({ ...r, perLevelMs: perLevel(r), medianProofMs: median(r.proofMs) })), perLevelGrowth: growth, allowedGrowth },
    notes: ['Merkle: leaves precomputed; one warm-up pass of 5,000 appends before timing; proofs checked against the root with rootFromProof.'],
  }
}
