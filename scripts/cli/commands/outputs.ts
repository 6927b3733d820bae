import { parseArgs } from 'node:util'
import { listClaims, votesByEpoch } from '../../../contracts-client/actions/listClaims.ts'
import { listOutputs } from '../../../contracts-client/actions/listOutputs.ts'
import { connect, connectionOptions, connectionUsage } from '../connection.ts'
import { toJson } from '../render.ts'
import { parseIndex } from '../usage.ts'

export const outputsUsage = `cartenix outputs [--input N] [--json]

Lists notices and vouchers (all, or one input's), decoded, with whether each is proven yet; then,
for the epochs they belong to, the claims on the chain: the root the consensus accepted, and each
submission beside it (the Authority's, or each validator's vote in a Quorum) with whether it
agrees. --json prints { outputs, epochs }.

${connectionUsage}`

export async function outputsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...connectionOptions, input: { type: 'string' } } })
  const connection = await connect(values)
  const { outputs } = await listOutputs(connection.node, {
    application: connection.application,
    ...(values.input !== undefined ? { inputIndex: parseIndex(values.input, 'input') } : {}),
  })
  // The votes are read from the chain, never from the node: the node may be the party that lies.
  const epochIndices = new Set(outputs.map((o) => o.epochIndex))
  const epochs = votesByEpoch(await listClaims(connection.publicClient, { application: connection.application })).filter((e) => epochIndices.has(e.epochIndex))
  if (values.json) {
    console.log(toJson({ outputs, epochs }))
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
  for (const epochIndex of [...epochIndices].sort((a, b) => (a < b ? -1 : 1))) {
    const epoch = epochs.find((e) => e.epochIndex === epochIndex)
    console.log(`epoch ${epochIndex}: ${epoch?.acceptedRoot ? `accepted ${epoch.acceptedRoot}` : epoch ? 'no root accepted yet' : 'no claim submitted yet'}`)
    for (const vote of epoch?.votes ?? []) {
      const verdict = vote.agreesWithAccepted === null ? '' : vote.agreesWithAccepted ? '  agrees' : '  DIFFERS from the accepted root'
      console.log(`  ${vote.submitter} voted ${vote.root}${verdict}`)
    }
  }
  return 0
}
