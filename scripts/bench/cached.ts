/**
 * Item 2: answers the store already has. The same hello request again, its output in the store:
 * first one request at a time (addInput until the notice), then a burst sent back to back and
 * waited for afterwards, which gives requests per second through one back end.
 */
import { buildTarget } from '../../dapp/nix/build.ts'
import type { BenchChain } from './chain.ts'
import { clientPollMs, hello } from './overhead.ts'
import { judged, type SectionResult } from './report.ts'
import { max, median, millis, seconds, timed } from './stats.ts'

const waitTimeoutMs = 5 * 60_000

export async function benchCached(chain: BenchChain, singles: number, burst: number, log: (line: string) => void): Promise<SectionResult> {
  // The output must be in the store; after item 1 it is, and otherwise this builds it once.
  const [built] = await buildTarget(hello)
  if (!built) throw new Error('hello evaluated to no derivation')
  const expectSame = (drvPath: string, success: boolean, inputIndex: bigint) => {
    if (!success || drvPath !== built.drvPath) throw new Error(`Input ${inputIndex}: ${drvPath} (success ${success}), expected ${built.drvPath}`)
  }

  log(`cached: ${singles} requests, one at a time`)
  const singleMs: number[] = []
  for (let i = 0; i < singles; i++) {
    const { value, ms } = await timed(async () => {
      const sent = await chain.send(hello)
      return chain.result(sent.inputIndex, { pollIntervalMs: clientPollMs, timeoutMs: waitTimeoutMs })
    })
    expectSame(value.notice.result.drvPath, value.notice.result.success, value.notice.result.inputIndex)
    singleMs.push(ms)
  }

  log(`cached: ${burst} requests sent back to back, then waited for`)
  const start = performance.now()
  const indices: bigint[] = []
  // One sender, one nonce sequence: each addInput waits for its receipt (anvil mines at once).
  for (let i = 0; i < burst; i++) indices.push((await chain.send(hello)).inputIndex)
  const sentMs = performance.now() - start
  for (const inputIndex of indices) {
    const { notice } = await chain.result(inputIndex, { pollIntervalMs: 50, timeoutMs: waitTimeoutMs })
    expectSame(notice.result.drvPath, notice.result.success, inputIndex)
  }
  const burstMs = performance.now() - start
  const perSecond = burst / (burstMs / 1000)

  const worst = max(singleMs)
  return {
    rows: [
      {
        item: 2,
        what: 'cached hello: addInput -> notice',
        figure: `max ${millis(worst)}, median ${millis(median(singleMs))} (${singleMs.length} requests)`,
        target: '< 300 ms each',
        status: judged(worst < 300),
      },
      {
        item: 2,
        what: `${burst} cached requests in a row`,
        figure: `${perSecond.toFixed(2)} req/s (${seconds(burstMs)}; sending took ${seconds(sentMs)})`,
        target: '',
        status: 'no target',
      },
    ],
    data: { drvPath: built.drvPath, singleMs, burst, burstMs, sentMs, perSecond },
    notes: [
      `Cached: each figure runs from before addInput until waitForResult returns the notice (client polls every ${clientPollMs} ms; ` +
        'the dev node reads the chain every 200 ms, its fixed default). The burst is timed from the first addInput to the last notice.',
    ],
  }
}
