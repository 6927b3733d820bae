import { parseArgs } from 'node:util'
import { listOutputs } from '../../../contracts-client/actions/listOutputs.ts'
import { connect, connectionOptions, connectionUsage } from '../connection.ts'
import { toJson } from '../render.ts'
import { parseIndex } from '../usage.ts'

export const outputsUsage = `cartenix outputs [--input N] [--json]

Lists notices and vouchers (all, or one input's), decoded, with whether each is proven yet.

${connectionUsage}`

export async function outputsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...connectionOptions, input: { type: 'string' } } })
  const connection = await connect(values)
  const { outputs } = await listOutputs(connection.node, {
    application: connection.application,
    ...(values.input !== undefined ? { inputIndex: parseIndex(values.input, 'input') } : {}),
  })
  if (values.json) {
    console.log(toJson(outputs))
    return 0
  }
  for (const output of outputs) {
    const proven = output.siblings ? 'proven' : 'unclaimed'
    const what =
      output.result !== undefined
        ? `${output.result.success ? 'built' : 'FAILED'} ${output.result.drvPath}`
        : output.source !== undefined
          ? `source added ${output.source.storePath}`
          : output.decoded.type === 'Notice'
            ? output.decoded.payload
            : `to ${output.decoded.destination}${output.executionTransactionHash ? ' (executed)' : ''}`
    console.log(`${String(output.index).padStart(4)}  input ${String(output.inputIndex).padStart(4)}  ${output.decoded.type.padEnd(8)} ${proven.padEnd(9)}  ${what}`)
  }
  if (outputs.length === 0) console.error('no outputs yet')
  return 0
}
