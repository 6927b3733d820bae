/**
 * Item 1: what the rollup adds to a cold build. GNU hello is built plainly (buildTarget: the same
 * evaluation, source check, `nix-store --realise` and NAR queries the back end does, in this
 * process) and through the rollup (InputBox.addInput → dev node → back end → notice, followed with
 * waitForResult), alternately, with the hello output deleted before every build. Both build the
 * same .drv to the same output path, so only the rollup's own work differs.
 */
import { buildTarget } from '../../dapp/nix/build.ts'
import { narHashToHex } from '../../dapp/nix/hash.ts'
import type { BenchChain } from './chain.ts'
import { judged, type SectionResult } from './report.ts'
import { median, seconds, timed } from './stats.ts'
import { deleteFromStore, outputsOf } from './store.ts'

export const hello = { attr: 'hello' } as const

/** The client polls the node this often; it adds at most this much to a rollup figure. */
export const clientPollMs = 20
const buildTimeoutMs = 15 * 60_000

export async function benchOverhead(chain: BenchChain, rounds: number, log: (line: string) => void): Promise<SectionResult> {
  const expected = await outputsOf(hello)
  // Build once, untimed: hello's inputs (the unpacked seed, the stdenv) must already be there, or
  // the first timed build would also pay for them. Only hello's own output is deleted below.
  log('overhead: building hello and its inputs once, untimed')
  await buildTarget(hello)
  const samples: { round: number; plainMs: number; rollupMs: number }[] = []
  for (let round = 1; round <= rounds; round++) {
    await deleteFromStore(expected.outputs)
    log(`overhead ${round}/${rounds}: plain build of hello (output deleted first)`)
    const plain = await timed(() => buildTarget(hello))
    const built = plain.value[0]
    if (!built || built.drvPath !== expected.drvPath) throw new Error(`The plain build gave ${built?.drvPath}, expected ${expected.drvPath}`)

    await deleteFromStore(expected.outputs)
    log(`overhead ${round}/${rounds}: rollup build of hello (output deleted first)`)
    const rollup = await timed(async () => {
      const sent = await chain.send(hello)
      return chain.result(sent.inputIndex, { pollIntervalMs: clientPollMs, timeoutMs: buildTimeoutMs })
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
    samples.push({ round, plainMs: plain.ms, rollupMs: rollup.ms })
    log(`overhead ${round}/${rounds}: plain ${seconds(plain.ms)}, rollup ${seconds(rollup.ms)}`)
  }

  const plainMs = median(samples.map((s) => s.plainMs))
  const rollupMs = median(samples.map((s) => s.rollupMs))
  const ratio = rollupMs / plainMs
  return {
    rows: [
      {
        item: 1,
        what: 'cold hello: rollup / plain',
        figure: `${ratio.toFixed(3)}x (rollup ${seconds(rollupMs)}, plain ${seconds(plainMs)}; medians of ${samples.length})`,
        target: '<= 1.10x',
        status: judged(ratio <= 1.1),
      },
    ],
    data: { drvPath: expected.drvPath, outputs: expected.outputs, samples, plainMedianMs: plainMs, rollupMedianMs: rollupMs, ratio, perRoundRatios: samples.map((s) => s.rollupMs / s.plainMs) },
    notes: [
      'Overhead: plain = buildTarget({attr:"hello"}) in this process (nix-instantiate, source check, nix-store --realise, NAR queries: what the back end does); ' +
        'rollup = requestBuild (addInput and its receipt) until waitForResult returns the notice. Alternating plain/rollup, ' +
        `hello's output deleted with nix-store --delete before each; the NAR hashes of both builds are compared. The client polls every ${clientPollMs} ms.`,
    ],
  }
}
