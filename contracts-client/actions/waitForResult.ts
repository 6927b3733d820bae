import type { Address } from 'viem'
import type { BuildResult } from '../../dapp/protocol/buildResult.ts'
import { InputNotAcceptedError, WaitTimeoutError } from '../errors/build.ts'
import type { DecodedReport } from '../../dapp/protocol/reports.ts'
import { isNotFound } from '../errors/node.ts'
import type { NodeClient } from '../node/client.ts'
import { sleep, type PollingParameters } from '../node/polling.ts'
import type { CartenixOutput } from '../node/outputs.ts'
import type { NodeInput } from '../../dapp/protocol/nodeApi.ts'
import { getInput } from './getInput.ts'
import { listOutputs } from './listOutputs.ts'
import { listReports } from './listReports.ts'

export type WaitForResultParameters = PollingParameters & {
  application: Address | string
  inputIndex: bigint
  /** Called whenever the input's status changes (`UNSEEN` until the node has read it). */
  onStatus?: (status: string) => void
}

export type WaitForResultReturnType = {
  input: NodeInput
  /** The Cartenix notice, with its decoded BuildResult. */
  notice: CartenixOutput & { result: BuildResult }
  vouchers: CartenixOutput[]
  reports: DecodedReport[]
}

/**
 * Follows an input until the node has processed it and returns its decoded notice, vouchers and
 * reports. An input that was not accepted throws InputNotAcceptedError carrying its reports.
 *
 * @example
 * const { notice } = await waitForResult(node, { application, inputIndex })
 * notice.result.outputs[0].narHash
 */
export async function waitForResult(node: NodeClient, parameters: WaitForResultParameters): Promise<WaitForResultReturnType> {
  const timeoutMs = parameters.timeoutMs ?? 30 * 60_000
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    parameters.signal?.throwIfAborted()
    const input = await getInput(node, parameters).catch((error: unknown) => {
      if (isNotFound(error)) return undefined
      throw error
    })
    const status = input?.status ?? 'UNSEEN'
    if (status !== last) parameters.onStatus?.(status)
    last = status
    if (input && input.status !== 'NONE') {
      const reports = await listReports(node, parameters)
      if (input.status !== 'ACCEPTED') throw new InputNotAcceptedError({ inputIndex: parameters.inputIndex, status: input.status, reports })
      const { outputs } = await listOutputs(node, parameters)
      const notice = outputs.find((o): o is CartenixOutput & { result: BuildResult } => o.result !== undefined)
      if (!notice) throw new InputNotAcceptedError({ inputIndex: parameters.inputIndex, status: 'ACCEPTED without a Cartenix notice', reports })
      return { input, notice, vouchers: outputs.filter((o) => o.decoded.type !== 'Notice'), reports }
    }
    if (Date.now() > deadline) throw new WaitTimeoutError({ what: `input ${parameters.inputIndex} to be processed`, timeoutMs })
    await sleep(parameters.pollIntervalMs ?? 500, parameters.signal)
  }
}
