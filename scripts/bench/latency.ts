/**
 * Item 4: from an input on the chain to the back end holding it, with no build at all. The bench
 * plays the back end itself, through the back end's own rollup client (long-polling POST /finish
 * on a devnet started without the real back end), and notes the wall-clock time each advance
 * request arrives. Inputs go one at a time, so no input waits behind another.
 *
 * Block timestamps have one-second resolution, so the start is taken on the same wall clock as the
 * arrival (Date.now in this process, which also runs the dev node): anvil mines the block inside
 * the addInput call, so it exists after the send began and before the receipt came back. "From the
 * receipt" is therefore a lower bound of the latency and "from the send" an upper bound.
 */
import { createRollupClient } from '../../dapp/rollup/client.ts'
import type { BenchChain } from './chain.ts'
import { hello } from './overhead.ts'
import { type SectionResult } from './report.ts'
import { median, millis, percentile } from './stats.ts'

const arrivalTimeoutMs = 10_000

type Sample = { index: number; sendAt: number; receiptAt: number; nodeReadAt: number; arrivedAt: number }

/** Plays the back end: accepts every input at once and records when each advance arrived. */
function playBackend(rollupUrl: string, deadline: number) {
  const rollup = createRollupClient(rollupUrl)
  const arrivals = new Map<number, number>()
  const waiting = new Map<number, (at: number) => void>()
  let stopped = false
  const done = (async () => {
    while (!stopped && Date.now() < deadline) {
      const request = await rollup.finish('accept')
      const at = Date.now()
      if (request?.request_type !== 'advance_state') continue
      const index = request.data.metadata.input_index
      arrivals.set(index, at)
      waiting.get(index)?.(at)
    }
  })()
  return {
    /** When input `index` reached the back end; waits for it, at most arrivalTimeoutMs. */
    arrival(index: number): Promise<number> {
      const seen = arrivals.get(index)
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`Input ${index} did not reach the back end within ${arrivalTimeoutMs} ms`)), arrivalTimeoutMs)
        waiting.set(index, (at) => {
          clearTimeout(timer)
          resolve(at)
        })
      })
    },
    /** Ends the loop; the last long poll returns within the node's /finish wait (1 s). */
    async stop(): Promise<void> {
      stopped = true
      await done
    },
    done,
  }
}

export async function benchLatency(chain: BenchChain, inputs: number, log: (line: string) => void): Promise<SectionResult> {
  if (chain.devnet.backend) throw new Error('The latency bench plays the back end itself; start the devnet with backend: false')
  const player = playBackend(chain.devnet.rollupUrl, Date.now() + inputs * arrivalTimeoutMs)
  // A failure of the played back end (the node gone, a malformed request) ends the bench at once.
  const failed = player.done.then(
    () => new Promise<never>(() => {}),
    (error: unknown) => Promise.reject(error),
  )
  failed.catch(() => {}) // handled by the races below; this only keeps a late failure from being "unhandled"
  const samples: Sample[] = []
  try {
    log(`latency: ${inputs} inputs, one at a time, to a played back end`)
    for (let i = 0; i < inputs; i++) {
      const sendAt = Date.now()
      const sent = await Promise.race([chain.send(hello), failed])
      const receiptAt = Date.now()
      const index = Number(sent.inputIndex)
      const arrivedAt = await Promise.race([player.arrival(index), failed])
      const record = chain.devnet.node.state.inputs.find((input) => input.index === index)
      samples.push({ index, sendAt, receiptAt, nodeReadAt: record ? Date.parse(record.createdAt) : Number.NaN, arrivedAt })
    }
  } finally {
    await player.stop().catch(() => {})
  }

  const fromReceipt = samples.map((s) => s.arrivedAt - s.receiptAt)
  const fromSend = samples.map((s) => s.arrivedAt - s.sendAt)
  const chainToNode = samples.map((s) => s.nodeReadAt - s.receiptAt)
  const nodeToBackend = samples.map((s) => s.arrivedAt - s.nodeReadAt)
  const summary = (values: number[]) => `median ${millis(median(values))}, p95 ${millis(percentile(values, 95))}`
  return {
    rows: [
      { item: 4, what: 'InputAdded -> back end, from receipt', figure: `${summary(fromReceipt)} (${samples.length} inputs)`, target: '', status: 'no target' },
      { item: 4, what: 'InputAdded -> back end, from send', figure: summary(fromSend), target: '', status: 'no target' },
    ],
    data: {
      samples,
      fromReceipt: { median: median(fromReceipt), p95: percentile(fromReceipt, 95) },
      fromSend: { median: median(fromSend), p95: percentile(fromSend, 95) },
      receiptToNodeRead: { median: median(chainToNode), p95: percentile(chainToNode, 95) },
      nodeReadToBackend: { median: median(nodeToBackend), p95: percentile(nodeToBackend, 95) },
    },
    notes: [
      'Latency: the bench plays the back end (dapp/rollup/client.ts finish("accept") in a loop; no build, no outputs) on a devnet without the real back end. ' +
        'Block timestamps have 1 s resolution, so times are wall-clock (Date.now, ms) in the bench process, which also runs the dev node: ' +
        '"from receipt" starts when the addInput receipt came back (a lower bound: the block was mined before), "from send" when addInput was called (an upper bound). ' +
        `Split: receipt -> dev node reads the event ${summary(chainToNode)}; event read -> back end ${summary(nodeToBackend)}. ` +
        'The dev node reads the chain every 200 ms (its fixed default), which dominates.',
    ],
  }
}
