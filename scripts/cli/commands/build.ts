import { parseArgs } from 'node:util'
import type { Address } from 'viem'
import { requestBuild, type BuildRequestInput } from '../../../contracts-client/actions/requestBuild.ts'
import { waitForResult } from '../../../contracts-client/actions/waitForResult.ts'
import { connect, connectionOptions, connectionUsage } from '../connection.ts'
import { progress, renderResult, toJson, inputStatusLine } from '../render.ts'
import { UsageError } from '../usage.ts'
import { addressPattern } from '../../../dapp/protocol/primitives.ts'

export const buildUsage = `cartenix build <attr> | --expr '<pkgs: …>' [--callback ADDR] [--value WEI] [--no-wait] [--json]

Sends a build request through InputBox (or the EtherPortal when --value is given), then waits
for the back end's notice and prints the result.

${connectionUsage}`

export async function buildCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...connectionOptions, expr: { type: 'string' }, callback: { type: 'string' }, value: { type: 'string' }, 'no-wait': { type: 'boolean', default: false } },
  })
  if (positionals.length > 1 || (positionals.length === 1) === (values.expr !== undefined)) throw new UsageError('give exactly one of <attr> or --expr')
  if (values.callback !== undefined && !addressPattern.test(values.callback)) throw new UsageError('--callback must be an address')
  if (values.value !== undefined && !/^\d+$/.test(values.value)) throw new UsageError('--value is a whole number of wei')
  const target = values.expr !== undefined ? { expr: values.expr } : { attr: positionals[0] ?? '' }
  const request = (values.callback ? { ...target, callback: values.callback as Address } : target) as BuildRequestInput
  const connection = await connect(values)
  const value = values.value ? BigInt(values.value) : 0n
  const sent = await requestBuild(connection.walletClient, {
    application: connection.application,
    inputBox: connection.inputBox(),
    request,
    ...(value > 0n ? { value, etherPortal: connection.etherPortal() } : {}),
  })
  if (values['no-wait']) {
    console.log(values.json ? toJson(sent) : `input ${sent.inputIndex} sent (transaction ${sent.transactionHash})`)
    return 0
  }
  if (!values.json) console.error(`input ${sent.inputIndex} sent (transaction ${sent.transactionHash})`)
  const indicator = progress(`input ${sent.inputIndex}`)
  try {
    const result = await waitForResult(connection.node, { application: connection.application, inputIndex: sent.inputIndex, onStatus: (status) => indicator.update(inputStatusLine(status)) })
    indicator.done()
    console.log(values.json ? toJson({ ...sent, notice: result.notice, vouchers: result.vouchers }) : renderResult(result.notice.result))
    return result.notice.result.success ? 0 : 1
  } finally {
    indicator.done()
  }
}
