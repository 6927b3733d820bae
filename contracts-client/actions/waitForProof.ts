import type { Address } from 'viem'
import { WaitTimeoutError } from '../errors/build.ts'
import type { NodeClient } from '../node/client.ts'
import { sleep, type PollingParameters } from '../node/polling.ts'
import type { CartenixOutput } from '../node/outputs.ts'
import { toQuantity } from '../../dapp/protocol/nodeApi.ts'
import { getOutput } from './getOutput.ts'

export type WaitForProofParameters = PollingParameters & {
  application: Address | string
  outputIndex: bigint
  /** Called whenever the status of the output's epoch changes (`OPEN`, `CLOSED`, …, `CLAIM_ACCEPTED`). */
  onEpochStatus?: (status: string) => void
}

/**
 * Waits until the output's epoch claim is accepted by the consensus and the node has the
 * output's proof (the 63 siblings). The siblings exist as soon as the claim is computed, before
 * it is submitted or accepted, so both are awaited.
 *
 * @example
 * const proven = await waitForProof(node, { application, outputIndex: notice.index })
 */
export async function waitForProof(node: NodeClient, parameters: WaitForProofParameters): Promise<CartenixOutput & { siblings: `0x${string}`[] }> {
  const timeoutMs = parameters.timeoutMs ?? 10 * 60_000
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    parameters.signal?.throwIfAborted()
    const output = await getOutput(node, parameters)
    if (output.siblings || parameters.onEpochStatus) {
      const { data: epoch } = await node.request(
        'cartesi_getEpoch',
        { application: parameters.application, epoch_index: toQuantity(output.epochIndex) },
      )
      if (epoch.status !== last) parameters.onEpochStatus?.(epoch.status)
      last = epoch.status
      if (output.siblings && epoch.status === 'CLAIM_ACCEPTED') return { ...output, siblings: output.siblings }
    }
    if (Date.now() > deadline) throw new WaitTimeoutError({ what: `the accepted claim that proves output ${parameters.outputIndex}`, timeoutMs })
    await sleep(parameters.pollIntervalMs ?? 500, parameters.signal)
  }
}
