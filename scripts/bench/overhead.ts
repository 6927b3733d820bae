/**
 * The `overhead` section: what the rollup adds to a cold build. GNU hello is built plainly
 * (buildTarget: the same evaluation, source check, `nix-store --realise` and NAR queries the back
 * end does, in this process) and through the rollup (InputBox.addInput → dev node → back end →
 * notice, followed with waitForResult), alternately, with the hello output deleted before every
 * build. Both build the same .drv to the same output path, so only the rollup's own work differs.
 */
import { loadavg } from 'node:os'
import { buildTarget } from '../../dapp/nix/build.ts'
import { narHashToHex } from '../../dapp/protocol/narHash.ts'
import type { BenchChain } from './chain.ts'
import { judged, type SectionResult } from './report.ts'
import { median, seconds, timed } from './stats.ts'
import { describeNeighbours, watchNeighbours, type Neighbour } from './neighbours.ts'
import { deleteFromStore, outputsOf } from './store.ts'

export const hello = { attr: 'hello' } as const

/** The client polls the node this often for quick answers; it adds at most this much to a figure. */
export const clientPollMs = 20
/**
 * During a build of several seconds the client polls less often: the dev node answering it runs
 * in this process, and on two cores every poll competes with the build (this adds at most 100 ms).
 */
const buildPollMs = 100
const buildTimeoutMs = 15 * 60_000

export async function benchOverhead(chain: BenchChain, rounds: number, log: (line: string) => void): Promise<SectionResult> {
  const expected = await outputsOf(hello)
  // Build once, untimed: hello's inputs (the unpacked seed, the stdenv) must already be there, or
  // the first timed build would also pay for them. Only hello's own output is deleted below.
  log('overhead: building hello and its inputs once, untimed')
  await buildTarget(hello)
  const samples: { round: number; plainMs: number; rollupMs: number; loadAverage: number; neighbours: Neighbour[] }[] = []
  for (let round = 1; round <= rounds; round++) {
    await deleteFromStore(expected.outputs, log)
    const watch = watchNeighbours()
    log(`overhead ${round}/${rounds}: plain build of hello (output deleted first)`)
    const plain = await timed(() => buildTarget(hello))
    const built = plain.value[0]
    if (!built || built.drvPath !== expected.drvPath) throw new Error(`The plain build gave ${built?.drvPath}, expected ${expected.drvPath}`)

    await deleteFromStore(expected.outputs, log)
    log(`overhead ${round}/${rounds}: rollup build of hello (output deleted first)`)
    const rollup = await timed(async () => {
      const sent = await chain.send(hello)
      return chain.result(sent.inputIndex, { pollIntervalMs: buildPollMs, timeoutMs: buildTimeoutMs })
    })
    const result = rollup.value.notice.result
    // Same derivation, same output, same bytes: otherwise the two timings measure different builds.
    if (!result.success || result.drvPath !== expected.drvPath) throw new Error(`The rollup build gave ${result.drvPath} (success ${result.success}), expected ${expected.drvPath}`)
    for (const output of built.outputs) {
      const twin = result.outputs.find((o) => o.name === output.name)
      if (twin?.path !== output.path || twin.narHash !== narHashToHex(output.narHash)) {
        throw new Error(`Output ${output.name} differs between the plain and the rollup build (${output.path} vs ${twin?.path})`)
      }
    }
    // Other Nix work and the 1-minute load average tell a disturbed round afterwards.
    const neighbours = await watch.stop()
    samples.push({ round, plainMs: plain.ms, rollupMs: rollup.ms, loadAverage: loadavg()[0] ?? Number.NaN, neighbours })
    const disturbed = neighbours.length > 0 ? ` (other Nix processes ran meanwhile: ${describeNeighbours(neighbours)})` : ''
    log(`overhead ${round}/${rounds}: plain ${seconds(plain.ms)}, rollup ${seconds(rollup.ms)}${disturbed}`)
  }

  const plainMs = median(samples.map((s) => s.plainMs))
  const rollupMs = median(samples.map((s) => s.rollupMs))
  // Each round pairs two builds made close together, so the median of the rounds' ratios is less
  // sensitive to the machine's drift than the ratio of the two medians.
  const perRoundRatios = samples.map((s) => s.rollupMs / s.plainMs)
  const ratio = median(perRoundRatios)
  // Rounds that shared the machine with other Nix builds are marked; the status stays on all
  // rounds (nothing is dropped after the fact), and the quiet rounds' median is shown beside it.
  const quiet = samples.filter((s) => s.neighbours.length === 0).map((s) => s.rollupMs / s.plainMs)
  const marked = samples.map((s) => `${(s.rollupMs / s.plainMs).toFixed(2)}${s.neighbours.length > 0 ? '*' : ''}`)
  const quietNote = quiet.length < samples.length ? `; * = other Nix builds ran meanwhile; quiet rounds: ${quiet.length ? `${median(quiet).toFixed(2)}x` : 'none'}` : ''
  return {
    rows: [
      {
        section: 'overhead',
        what: 'cold hello: rollup / plain',
        figure: `${ratio.toFixed(2)}x median of rounds ${marked.join(', ')} (rollup ${seconds(rollupMs)}, plain ${seconds(plainMs)}${quietNote})`,
        target: '<= 1.10x',
        status: judged(ratio <= 1.1),
      },
    ],
    data: { drvPath: expected.drvPath, outputs: expected.outputs, samples, plainMedianMs: plainMs, rollupMedianMs: rollupMs, ratio, perRoundRatios },
    notes: [
      'Overhead: plain = buildTarget({attr:"hello"}) in this process (nix-instantiate, source check, nix-store --realise, NAR queries: what the back end does); ' +
        'rollup = requestBuild (addInput and its receipt) until waitForResult returns the notice. Alternating plain/rollup, ' +
        `hello's output deleted with nix-store --delete before each; the NAR hashes of both builds are compared. The figure is the median of the rounds' ratios; ` +
        `the client polls every ${buildPollMs} ms.`,
    ],
  }
}
