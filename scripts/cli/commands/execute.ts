import { parseArgs } from 'node:util'
import { executeVoucher } from '../../../contracts-client/actions/executeVoucher.ts'
import { waitForProof } from '../../../contracts-client/actions/waitForProof.ts'
import { connect, connectionOptions, connectionUsage } from '../connection.ts'
import { progress, toJson } from '../render.ts'
import { parseIndex } from '../usage.ts'

export const executeUsage = `cartenix execute <output-index> [--json]

Executes a voucher once its epoch is claimed (waiting for the claim if need be). A voucher runs
once; executing it again is refused with a clear message and exit status 1.

${connectionUsage}`

export async function executeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: connectionOptions })
  const outputIndex = parseIndex(positionals[0], 'output-index')
  const connection = await connect(values)
  const indicator = progress(`output ${outputIndex}`)
  indicator.update('waiting for the claim')
  const output = await waitForProof(connection.node, { application: connection.application, outputIndex }).finally(() => indicator.done())
  const { transactionHash } = await executeVoucher(connection.walletClient, { application: connection.application, output })
  console.log(values.json ? toJson({ outputIndex, transactionHash }) : `voucher ${outputIndex} executed in transaction ${transactionHash}`)
  return 0
}
