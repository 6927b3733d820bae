import type { Address } from 'viem'
import { WaitTimeoutError } from '../errors/build.ts'
import type { NodeClient } from '../node/client.ts'
import type { CartenixOutput } from '../node/outputs.ts'
import { getOutput } from './getOutput.ts'

export type WaitForProofParameters = { application: Address | string; outputIndex: bigint; timeoutMs?: number; pollIntervalMs?: number }

/**
 * Waits until the output's epoch is claimed and the node has its proof (the 63 siblings).
 *
 * @example
 * const proven = await waitForProof(node, { application, outputIndex: notice.index })
 */
export async function waitForProof(node: NodeClient, parameters: WaitForProofParameters): Promise<CartenixOutput & { siblings: `0x${string}`[] }> {
  const timeoutMs = parameters.timeoutMs ?? 10 * 60_000
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const output = await getOutput(node, parameters)
    if (output.siblings) return { ...output, siblings: output.siblings }
    if (Date.now() > deadline) throw new WaitTimeoutError({ what: `the claim that proves output ${parameters.outputIndex}`, timeoutMs })
    await new Promise((resolve) => setTimeout(resolve, parameters.pollIntervalMs ?? 500))
  }
}
