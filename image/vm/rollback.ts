/**
 * Rollback for the riscv64 VM: a rejected input leaves the machine as it was before the input,
 * as the Cartesi machine does.
 *
 * The disk is a chain of qcow2 files over the image's ext2: `base.qcow2` holds the machine as it
 * was after the last accepted input, and a thin overlay on top takes the writes of the input in
 * flight. The rollup API's traffic, seen by the host relay, says when an input ends:
 *
 *   node answers /finish with an advance   the input is in flight
 *   guest sends /finish accept             commit: the overlay is merged into base (QMP
 *                                          block-commit) and a new one goes on top (~50 ms)
 *   guest sends /finish reject             roll back: the VM is stopped, the overlay dropped,
 *                                          and the VM boots again on base; its first /finish
 *                                          carries the reject to the node, which then answers
 *                                          with the next input
 *   guest sends /exception                 the node gets it, then the same roll back
 *
 * Memory is not restored (QEMU 7.2's loadvm hangs riscv guests: NOTES.md, section 6): the
 * rebooted back end starts afresh and reads what it had committed from the disk
 * (CARTENIX_STATE_DIR), so no trace of the rejected input remains, on disk or in memory. The
 * guest relay writes the page cache out before each verdict leaves the VM, so base is a clean
 * disk at every commit.
 *
 * Inspect requests are not rolled back one by one: their writes (none that the back end keeps)
 * are committed or dropped with the next advance input's.
 */
import type * as z from 'zod'
import { finishBody, requestKind, type FinishStatus } from '../../dapp/protocol/rollupHttp.ts'
import type { RequestFrame } from './relay/frame.ts'
import type { RelayAnswer } from './relay/host.ts'

export type Verdict = FinishStatus

export type RollbackActions = {
  /** Makes the disk as it is now the state to return to. */
  commit(): Promise<void>
  /**
   * Stops this VM and boots a new one on the committed disk, then calls `resume(verdict)`: the
   * verdict the old VM gave, for the new one's first /finish to carry to the node.
   */
  rollBack(reason: string, verdict: Verdict | undefined): void
  log(line: string): void
}

export type InputGate = {
  beforeRequest(request: RequestFrame): Promise<RequestFrame | undefined>
  afterResponse(request: RequestFrame, answer: RelayAnswer): void
  /** A new VM boots: requests flow again; `verdict` goes to the node with its first /finish. */
  resume(verdict?: Verdict): void
  /** What the gate has done so far, for logs and tests. */
  readonly counts: { commits: number; rollbacks: number }
}

const isPost = (request: RequestFrame, route: string) => request.method.toUpperCase() === 'POST' && new RegExp(`^/${route}/?$`).test(request.path)

export function createInputGate(actions: RollbackActions): InputGate {
  let inFlight: 'advance' | 'inspect' | undefined
  let heldVerdict: Verdict | undefined
  // Between a reject and the new VM's boot, nothing of the old VM reaches the node.
  let replacing = false
  let exceptionSent = false
  const counts = { commits: 0, rollbacks: 0 }

  function rollBack(reason: string, verdict?: Verdict): undefined {
    replacing = true
    counts.rollbacks++
    actions.rollBack(reason, verdict)
    return undefined
  }

  return {
    counts,
    async beforeRequest(request) {
      if (replacing) return undefined
      if (isPost(request, 'exception') && inFlight === 'advance') {
        inFlight = undefined
        exceptionSent = true
        // The node gets the exception, then afterResponse rolls back.
        return request
      }
      if (!isPost(request, 'finish')) return request
      if (heldVerdict) {
        const finish: z.input<typeof finishBody> = { status: heldVerdict }
        const body = Buffer.from(JSON.stringify(finish))
        heldVerdict = undefined
        return { ...request, body, headers: request.headers.filter(([name]) => name.toLowerCase() !== 'content-length') }
      }
      if (inFlight !== 'advance') return request
      const status = verdictOf(request.body)
      if (status === 'accept') {
        await actions.commit()
        counts.commits++
        return request
      }
      if (status === 'reject') return rollBack('the input was rejected', 'reject')
      return request
    },
    afterResponse(request, answer) {
      if (isPost(request, 'exception') && exceptionSent) {
        exceptionSent = false
        if (answer.status < 300) rollBack('the input ended in an exception')
        else inFlight = 'advance'
        return
      }
      if (!isPost(request, 'finish')) return
      if (answer.status === 202) inFlight = undefined
      else if (answer.status === 200) inFlight = requestTypeOf(answer.body)
    },
    resume(verdict) {
      replacing = false
      heldVerdict = verdict
      inFlight = undefined
    },
  }
}

function verdictOf(body: Buffer): Verdict | undefined {
  return finishBody.safeParse(parseJson(body)).data?.status
}

function requestTypeOf(body: Buffer): 'advance' | 'inspect' | undefined {
  const type = requestKind.safeParse(parseJson(body)).data?.request_type
  return type === undefined ? undefined : type === 'advance_state' ? 'advance' : 'inspect'
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
}
