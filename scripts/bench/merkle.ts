/**
 * Item 3: the dev node's outputs Merkle tree. Appending N outputs and computing one output's 63
 * siblings, for growing N. Appending should cost the same per output whatever N is (one hash per
 * level of a fixed-height tree), and a proof is one lookup per level.
 */
import { keccak256, numberToHex } from 'viem'
import { OutputsMerkleTree, rootFromProof } from '../devnode/merkle.ts'
import { judged, type Row, type SectionResult } from './report.ts'
import { count, median, millis } from './stats.ts'

/** Indices whose proofs are timed: both ends and the middle, so no lucky position is picked. */
const probes = (n: number) => [0, Math.floor(n / 2), n - 1]

export async function benchMerkle(sizes: readonly number[], log: (line: string) => void): Promise<SectionResult> {
  const largest = Math.max(...sizes)
  // Leaves are made beforehand: hashing the outputs themselves is not the tree's work.
  const leaves = Array.from({ length: largest }, (_, i) => keccak256(numberToHex(i, { size: 32 })))
  // One unrecorded pass lets the JIT compile append() before anything is timed, so the smallest N
  // is not penalised by warm-up (which would flatter the larger ones).
  const warmUp = new OutputsMerkleTree()
  for (const leaf of leaves.slice(0, 1000)) warmUp.append(leaf)

  const runs: { n: number; appendMs: number; perOutputMs: number; proofMs: number[] }[] = []
  for (const n of sizes) {
    log(`merkle: appending ${count(n)} outputs`)
    const tree = new OutputsMerkleTree()
    const start = performance.now()
    for (let i = 0; i < n; i++) tree.append(leaves[i] as `0x${string}`)
    const appendMs = performance.now() - start
    const root = tree.root()
    const proofMs: number[] = []
    for (const index of probes(n)) {
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
  // O(log N) per output allows the per-output time to grow by log N / log N0 at most; with the
  // tree's fixed height of 63 it should in fact stay flat.
  const allowedGrowth = Math.log2(last.n) / Math.log2(first.n)
  const growth = last.perOutputMs / first.perOutputMs
  const rows: Row[] = runs.map((run) => ({
    item: 3,
    what: `append N=${count(run.n)} outputs`,
    figure: `${millis(run.perOutputMs)}/output (${millis(run.appendMs)} in all)`,
    target: run === last ? `flat: <= ${allowedGrowth.toFixed(2)}x N=${count(first.n)} (log N); got ${growth.toFixed(2)}x` : 'flat (see last N)',
    status: run === last ? judged(growth <= allowedGrowth) : 'no target',
  }))
  for (const run of runs) {
    const proof = Math.max(...run.proofMs)
    rows.push({
      item: 3,
      what: `63 siblings, N=${count(run.n)}`,
      figure: `${millis(proof)} (slowest of ${run.proofMs.length})`,
      target: run === last ? '< 50 ms' : '',
      status: run === last ? judged(proof < 50) : 'no target',
    })
  }
  return {
    rows,
    data: { runs: runs.map((r) => ({ ...r, medianProofMs: median(r.proofMs) })), growth, allowedGrowth },
    notes: ['Merkle: leaves precomputed; one warm-up pass of 1,000 appends before timing; proofs checked against the root with rootFromProof.'],
  }
}
