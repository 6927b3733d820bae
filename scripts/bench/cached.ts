/**
 * The `cached` section: answers the store already has. The same hello request again, its output in
 * the store: first one request at a time (addInput until the notice), then a burst sent back to
 * back and waited for afterwards, which gives requests per second through one back end.
 */
import { buildTarget } from '../../dapp/nix/build.ts'
import type { BenchChain } from './chain.ts'
import { clientPollMs, hello } from './overhead.ts'
import { judged, type SectionResult } from './report.ts'
import { max, median, millis, randomPause, seconds, timed } from './stats.ts'

const waitTimeoutMs = 5 * 60_000
/**
 * Requests one at a time are each sent after a random pause of up to this long, several times
 * the dev node's 200 ms poll of the chain, so they do not keep step with it.
 */
const pauseMs = 1000

export async function benchCached(chain: BenchChain, singles: number, burst: number, log: (line: string) => void): Promise<SectionResult> {
  // The output must be in the store; after the `overhead` section it is, and otherwise this builds it once.
  const [built] = await buildTarget(hello)
  if (!built) throw new Error('hello evaluated to no derivation')
  const expectSame = (drvPath: string, success: boolean, inputIndex: bigint) => {
    if (!success || drvPath !== built.drvPath) throw new Error(`Input ${inputIndex}: ${drvPath} (success ${success}), expected ${built.drvPath}`)
  }

  // Where the time goes, on one wall clock (Date.now, ms; the dev node runs in this process and
  // stamps each input when it reads it and when it settles it).
  type Single = { ms: number; sendMs: number; nodeReadMs: number; backendMs: number; clientMs: number }
  const once = async (): Promise<Single> => {
    const sendAt = Date.now()
    const { value, ms } = await timed(async () => {
      const sent = await chain.send(hello)
      const receiptAt = Date.now()
      return { receiptAt, ...(await chain.result(sent.inputIndex, { pollIntervalMs: clientPollMs, timeoutMs: waitTimeoutMs })) }
    })
    const doneAt = Date.now()
    const { result } = value.notice
    expectSame(result.drvPath, result.success, result.inputIndex)
    const record = chain.devnet.node.state.inputs.find((input) => BigInt(input.index) === result.inputIndex)
    const readAt = record ? Date.parse(record.createdAt) : Number.NaN
    const settledAt = record ? Date.parse(record.updatedAt) : Number.NaN
    return { ms, sendMs: value.receiptAt - sendAt, nodeReadMs: readAt - value.receiptAt, backendMs: settledAt - readAt, clientMs: doneAt - settledAt }
  }
  // Untimed: the back end's first answer pays for its own warm-up (module loading, JIT).
  await once()
  log(`cached: ${singles} requests, one at a time, each after a random pause`)
  const samples: Single[] = []
  for (let i = 0; i < singles; i++) {
    await randomPause(pauseMs)
    samples.push(await once())
  }
  const singleMs = samples.map((s) => s.ms)
  const part = (key: keyof Single) => millis(median(samples.map((s) => s[key])))

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
        section: 'cached',
        what: 'cached hello: addInput -> notice',
        figure: `max ${millis(worst)}, median ${millis(median(singleMs))} (${singleMs.length} requests)`,
        target: '< 300 ms each',
        status: judged(worst < 300),
      },
      {
        section: 'cached',
        what: `${burst} cached requests in a row`,
        figure: `${perSecond.toFixed(2)} req/s (${seconds(burstMs)}; sending took ${seconds(sentMs)})`,
        target: '',
        status: 'no target',
      },
    ],
    data: { drvPath: built.drvPath, singles: samples, burst, burstMs, sentMs, perSecond },
    notes: [
      `Cached: one untimed request first; then each request, after a random pause of up to ${pauseMs} ms, is timed from before addInput until ` +
        `waitForResult returns the notice (the client polls every ${clientPollMs} ms). The burst is timed from the first addInput to the last notice. ` +
        `Medians of the parts: addInput and receipt ${part('sendMs')}; receipt -> dev node reads the input ${part('nodeReadMs')}; ` +
        `read -> settled (the back end's whole answer) ${part('backendMs')}; settled -> client has the notice ${part('clientMs')}.`,
    ],
  }
}
