/**
 * The `latency` section: from an input on the chain to the back end holding it, with no build at
 * all. The bench plays the back end itself, through the back end's own rollup client (long-polling
 * POST /finish on a devnet started without the real back end), accepting each input at once, and
 * notes the wall-clock time each advance request arrives.
 *
 * Inputs are sent at random moments (gaps uniform in [0, 2 × meanGapMs)), whatever became of the
 * earlier ones, so they sample the dev node's timers at random phases as independent users would.
 * An input may thus wait behind a few others at the played back end (each takes milliseconds).
 *
 * Block timestamps have one-second resolution, so the start is taken on the same wall clock as the
 * arrival (Date.now in this process, which also runs the dev node): anvil mines the block inside
 * the addInput call, so it exists after the send began and before the receipt came back. "From the
 * receipt" is therefore a lower bound of the latency and "from the send" an upper bound.
 */
import { createRollupClient } from '../../dapp/protocol/rollupClient.ts'
import type { BenchChain } from './chain.ts'
import { hello } from './overhead.ts'
import { type SectionResult } from './report.ts'
import { median, millis, percentile, sleep } from './stats.ts'

const arrivalTimeoutMs = 30_000
const meanGapMs = 200

type Sample = { index: number; sendAt: number; receiptAt: number; nodeReadAt: number; arrivedAt: number }

/** Plays the back end: accepts every input at once and records when each advance arrived. */
function playBackend(rollupUrl: string, deadline: number) {
  const rollup = createRollupClient(rollupUrl)
  const arrivals = new Map<number, number>()
  let stopped = false
  let ended = false
  let failure: unknown
  const done = (async () => {
    // Each /finish returns within the node's long-poll wait (1 s), so the deadline bounds the loop.
    while (!stopped && Date.now() < deadline) {
      const request = await rollup.finish('accept')
      const at = Date.now()
      if (request?.request_type === 'advance_state') arrivals.set(request.data.metadata.input_index, at)
    }
  })()
    .catch((error: unknown) => {
      failure = error
    })
    .finally(() => {
      ended = true
    })
  return {
    /** When input `index` reached the back end; waits for it, at most arrivalTimeoutMs. */
    async arrival(index: number): Promise<number> {
      const until = Date.now() + arrivalTimeoutMs
      for (;;) {
        const at = arrivals.get(index)
        if (at !== undefined) return at
        if (failure) throw failure
        if (ended || Date.now() > until) throw new Error(`Input ${index} did not reach the back end within ${arrivalTimeoutMs} ms`)
        await sleep(5)
      }
    },
    async stop(): Promise<void> {
      stopped = true
      await done
    },
  }
}

export async function benchLatency(chain: BenchChain, inputs: number, log: (line: string) => void): Promise<SectionResult> {
  if (chain.devnet.backend) throw new Error('The latency bench plays the back end itself; start the devnet with backend: false')
  const player = playBackend(chain.devnet.rollupUrl, Date.now() + inputs * 2 * meanGapMs + arrivalTimeoutMs + 60_000)
  const sent: Omit<Sample, 'nodeReadAt' | 'arrivedAt'>[] = []
  const samples: Sample[] = []
  try {
    log(`latency: ${inputs} inputs at random moments (mean gap ${meanGapMs} ms) to a played back end`)
    let due = Date.now()
    for (let i = 0; i < inputs; i++) {
      due += Math.random() * 2 * meanGapMs
      await sleep(Math.max(0, due - Date.now()))
      const sendAt = Date.now()
      const { inputIndex } = await chain.send(hello)
      sent.push({ index: Number(inputIndex), sendAt, receiptAt: Date.now() })
    }
    for (const s of sent) {
      const arrivedAt = await player.arrival(s.index)
      const record = chain.devnet.node.state.inputs.find((input) => input.index === s.index)
      samples.push({ ...s, nodeReadAt: record ? Date.parse(record.createdAt) : Number.NaN, arrivedAt })
    }
  } finally {
    await player.stop()
  }

  const fromReceipt = samples.map((s) => s.arrivedAt - s.receiptAt)
  const fromSend = samples.map((s) => s.arrivedAt - s.sendAt)
  const chainToNode = samples.map((s) => s.nodeReadAt - s.receiptAt)
  const nodeToBackend = samples.map((s) => s.arrivedAt - s.nodeReadAt)
  const summary = (values: number[]) => `median ${millis(median(values))}, p95 ${millis(percentile(values, 95))}`
  const stats = (values: number[]) => ({ median: median(values), p95: percentile(values, 95), max: Math.max(...values) })
  return {
    rows: [
      { section: 'latency', what: 'InputAdded -> back end, from receipt', figure: `${summary(fromReceipt)} (${samples.length} inputs)`, target: '', status: 'no target' },
      { section: 'latency', what: 'InputAdded -> back end, from send', figure: summary(fromSend), target: '', status: 'no target' },
    ],
    data: {
      meanGapMs,
      samples,
      fromReceipt: stats(fromReceipt),
      fromSend: stats(fromSend),
      receiptToNodeRead: stats(chainToNode),
      nodeReadToBackend: stats(nodeToBackend),
    },
    notes: [
      'Latency: the bench plays the back end (dapp/protocol/rollupClient.ts finish("accept") in a loop; no build, no outputs) on a devnet without the real back end; ' +
        `inputs are sent at random moments (mean gap ${meanGapMs} ms). Block timestamps have 1 s resolution, so times are wall-clock (Date.now, ms) in the bench process, ` +
        'which also runs the dev node: "from receipt" starts when the addInput receipt came back (a lower bound: the block was mined before), ' +
        `"from send" when addInput was called (an upper bound). Split: receipt -> dev node reads the event ${summary(chainToNode)}; ` +
        `event read -> back end ${summary(nodeToBackend)}.`,
    ],
  }
}
