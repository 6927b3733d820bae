/**
 * The `quorum` section: what a Quorum of three costs against the Authority, side by side in one
 * run, and what a validator that starts late pays to catch up.
 *
 * The same requests go to two devnets in turn: one on the Authority (the dev node votes alone),
 * one on a Quorum of three `cartenix validator` processes, each re-executing with a Nix store
 * of its own (the dev node only reads). Each request is a small derivation of its own, built (and
 * rebuilt to check it reproduces) by every party, since hello would come out of the host's store
 * for the node and be built from scratch by each validator. One input is sent at a time, after the
 * previous one's claim was accepted, and each input is an epoch of its own (epoch length 1): per
 * input and per epoch are the same figures here.
 *
 * Per input, from the receipt of `addInput`:
 * - the dev node's result (the input's status no longer NONE on its JSON-RPC);
 * - each validator's re-execution (its `input` event);
 * - the accepted claim (the epoch CLAIM_ACCEPTED on the dev node, which follows the chain).
 *
 * Then a validator starts from nothing on the Quorum's history (the third key, on a fresh state
 * directory): its own store made first, then every epoch re-executed, until it found the last
 * one accepted with the root it computed.
 * It does not vote (that key voted in every epoch already); it catches up as a restarted or new
 * validator would.
 *
 * On two cores the Quorum's four back ends (the node's and three validators') share the machine:
 * that contention is part of what is measured.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toHex } from 'viem'
import { getInput } from '../../contracts-client/index.ts'
import { hostTemplateSystem } from '../../image/template.ts'
import { devQuorumKeys, type Consensus } from '../validator/devnet.ts'
import { startValidator, type ValidatorEvent } from '../validator/validator.ts'
import { startBenchChain, type BenchChain } from './chain.ts'
import type { SectionResult } from './report.ts'
import { median, seconds, sleep } from './stats.ts'

const pollMs = 50
const stepTimeoutMs = 10 * 60_000

type InputTimes = { index: number; nodeMs: number; validatorMs: number[]; acceptedMs: number }

/** A request of its own: every party builds it. */
const request = (run: string, n: number) => ({ expr: `pkgs: derivation { name = "bench-quorum-${run}-${n}"; system = pkgs.seed.system; builder = "\${pkgs.seed}/usr/bin/bash"; args = [ "-c" "echo ${n} > $out" ]; }` })

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + stepTimeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await sleep(pollMs)
  }
}

/** Sends `count` requests one at a time and times each; `inputEvents` holds each validator's `input` events (time seen, index). */
async function timeInputs(chain: BenchChain, run: string, count: number, inputEvents: Map<number, number>[], log: (line: string) => void): Promise<InputTimes[]> {
  const times: InputTimes[] = []
  for (let n = 0; n < count; n++) {
    const { inputIndex } = await chain.send(request(run, n))
    const sentAt = performance.now()
    const index = Number(inputIndex)
    const { application } = chain.devnet.deployment
    const input = await until(`input ${index} on the dev node`, async () => {
      const data = await getInput(chain.node, { application, inputIndex: BigInt(index) }).catch(() => undefined)
      return data && data.status !== 'NONE' ? data : undefined
    })
    const nodeMs = performance.now() - sentAt
    await until(`the claim of input ${index}'s epoch`, async () => {
      const epoch = await chain.node.request('cartesi_getEpoch', { application, epoch_index: toHex(input.epochIndex) }).catch(() => undefined)
      return epoch?.data.status === 'CLAIM_ACCEPTED' ? true : undefined
    })
    const acceptedMs = performance.now() - sentAt
    const validatorMs = await Promise.all(inputEvents.map((events, i) => until(`validator ${i + 1}'s re-execution of input ${index}`, async () => events.get(index)).then((at) => at - sentAt)))
    times.push({ index, nodeMs, validatorMs, acceptedMs })
    log(`quorum: ${run}, input ${index}: node ${seconds(nodeMs)}, accepted ${seconds(acceptedMs)}${validatorMs.length ? `, validators ${validatorMs.map(seconds).join(' / ')}` : ''}`)
  }
  return times
}

export async function benchQuorum(epochs: number, log: (line: string) => void): Promise<SectionResult> {
  const runs: Partial<Record<Consensus, InputTimes[]>> = {}
  let catchUp: { setupMs: number; reexecuteMs: number } | undefined
  const nonce = Date.now()
  for (const consensus of ['authority', 'quorum'] as const) {
    const inputEvents: Map<number, number>[] = consensus === 'quorum' ? devQuorumKeys.map(() => new Map()) : []
    log(`quorum: a devnet on ${consensus === 'quorum' ? `a Quorum of ${devQuorumKeys.length}` : 'the Authority'}`)
    const chain = await startBenchChain({
      backend: true,
      consensus,
      onValidatorEvent: (i, event: ValidatorEvent) => {
        if (event.event === 'input') inputEvents[i - 1]?.set(event.index, performance.now())
      },
    })
    try {
      runs[consensus] = await timeInputs(chain, `${consensus}-${nonce}`, epochs, inputEvents, log)
      if (consensus === 'quorum') catchUp = await timeCatchUp(chain, epochs, log)
    } finally {
      await chain.stop()
    }
  }
  const authority = runs.authority ?? []
  const quorum = runs.quorum ?? []
  const m = (values: number[]) => median(values)
  const authorityAccepted = m(authority.map((t) => t.acceptedMs))
  const quorumAccepted = m(quorum.map((t) => t.acceptedMs))
  const quorumNode = m(quorum.map((t) => t.nodeMs))
  const validatorReexec = m(quorum.flatMap((t) => t.validatorMs))
  const ratio = quorumAccepted / authorityAccepted
  const rows: SectionResult['rows'] = [
    { section: 'quorum', what: `input → node's result, Authority (median of ${authority.length})`, figure: seconds(m(authority.map((t) => t.nodeMs))), target: '', status: 'no target' },
    { section: 'quorum', what: `input → node's result, Quorum of 3 (median of ${quorum.length})`, figure: seconds(quorumNode), target: '', status: 'no target' },
    { section: 'quorum', what: "input → one validator's re-execution, Quorum of 3", figure: `${seconds(validatorReexec)} (${(validatorReexec / quorumNode).toFixed(2)}× the node's)`, target: '', status: 'no target' },
    { section: 'quorum', what: 'input → accepted claim, Authority (1 party)', figure: seconds(authorityAccepted), target: '', status: 'no target' },
    { section: 'quorum', what: 'input → accepted claim, Quorum of 3', figure: `${seconds(quorumAccepted)} (${ratio.toFixed(2)}× the Authority's)`, target: '', status: 'no target' },
    {
      section: 'quorum',
      what: 'the first input → accepted claim (fresh stores)',
      figure: `Authority ${seconds(authority[0]?.acceptedMs ?? Number.NaN)}, Quorum of 3 ${seconds(quorum[0]?.acceptedMs ?? Number.NaN)}`,
      target: '',
      status: 'no target',
    },
  ]
  if (catchUp) {
    rows.push({
      section: 'quorum',
      what: `a validator catching up ${epochs} epochs from nothing`,
      figure: `${seconds(catchUp.setupMs + catchUp.reexecuteMs)}: its store ${seconds(catchUp.setupMs)}, then ${seconds(catchUp.reexecuteMs / epochs)} per epoch`,
      target: '',
      status: 'no target',
    })
  }
  return {
    rows,
    data: { epochs, authority, quorum, catchUp },
    notes: [
      `quorum: ${epochs} requests of their own (a one-line derivation, built and checked by every party), one at a time, one epoch each; the Quorum's three validators and the node's back end share this machine's cores.`,
      "quorum: a validator's first build in its fresh store unpacks the seed first; the medians leave that out, the row of the first input shows it.",
    ],
  }
}

/** A validator from nothing (the third key, a fresh state directory) until it reached the last epoch. */
async function timeCatchUp(chain: BenchChain, epochs: number, log: (line: string) => void): Promise<{ setupMs: number; reexecuteMs: number }> {
  const key = devQuorumKeys[devQuorumKeys.length - 1]
  if (!key) throw new Error('No validator key')
  // The Quorum's own third validator steps aside, so that the newcomer has the machine to itself.
  await chain.devnet.validators.pop()?.stop()
  const stateDir = await mkdtemp(join(tmpdir(), 'cartenix-bench-catch-up-'))
  const lastIndex = chain.devnet.node.state.inputs.length - 1
  const t0 = performance.now()
  let startedAt = 0
  const validator = await startValidator({
    chainUrl: chain.devnet.chainUrl,
    application: chain.devnet.deployment.application,
    privateKey: key,
    stateDir,
    system: hostTemplateSystem(),
    etherPortal: chain.devnet.deployment.etherPortal,
    onEvent: (event) => {
      if (event.event === 'started') startedAt = performance.now()
    },
  })
  try {
    const lastEpoch = chain.devnet.node.state.inputs[lastIndex]?.epochIndex
    await until(`the new validator to find epoch ${lastEpoch} accepted with its own root`, async () =>
      validator.node.state.epochs.find((e) => e.index === lastEpoch)?.status === 'CLAIM_ACCEPTED' ? true : undefined,
    )
    const doneAt = performance.now()
    log(`quorum: a validator from nothing caught up ${epochs} epochs in ${seconds(doneAt - t0)} (its store ${seconds(startedAt - t0)})`)
    return { setupMs: startedAt - t0, reexecuteMs: doneAt - startedAt }
  } finally {
    await validator.stop()
    await rm(stateDir, { recursive: true, force: true })
  }
}
