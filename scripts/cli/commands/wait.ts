import { parseArgs } from 'node:util'
import { waitForResult } from '../../../contracts-client/actions/waitForResult.ts'
import { connect, connectionOptions, connectionUsage } from '../connection.ts'
import { progress, renderResult, toJson, inputStatusLine } from '../render.ts'
import { parseIndex } from '../usage.ts'

export const waitUsage = `cartenix wait <input-index> [--timeout SECONDS] [--json]

Follows an input until the node has processed it, and prints its notice (or, for a rejected
input, the reports that say why, with exit status 1).

${connectionUsage}`

export async function waitCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...connectionOptions, timeout: { type: 'string', default: '1800' } } })
  const inputIndex = parseIndex(positionals[0], 'input-index')
  const connection = await connect(values)
  const indicator = progress(`input ${inputIndex}`)
  try {
    const result = await waitForResult(connection.node, {
      application: connection.application,
      inputIndex,
      timeoutMs: Number(values.timeout) * 1000,
      onStatus: (status) => indicator.update(inputStatusLine(status)),
    })
    indicator.done()
    console.log(values.json ? toJson(result) : renderResult(result.notice.result))
    return result.notice.result.success ? 0 : 1
  } finally {
    indicator.done()
  }
}
