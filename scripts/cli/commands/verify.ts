import { parseArgs } from 'node:util'
import { getInput } from '../../../contracts-client/actions/getInput.ts'
import { validateNotice } from '../../../contracts-client/actions/validateNotice.ts'
import { requestBytes, verifyLocally } from '../../../contracts-client/host.ts'
import { waitForProof } from '../../../contracts-client/actions/waitForProof.ts'
import { waitForResult } from '../../../contracts-client/actions/waitForResult.ts'
import { CartenixError } from '../../../dapp/lib/errors.ts'
import { connect, connectionOptions, connectionUsage } from '../connection.ts'
import { progress, renderResult, toJson, inputStatusLine } from '../render.ts'
import { parseIndex } from '../usage.ts'

export const verifyUsage = `cartenix verify <input-index> [--no-local] [--json]

Checks an input's notice without trusting the node or the back end: waits for the claim,
validates the notice on-chain (Application.validateOutput), then instantiates and builds the
same request with the local Nix and package set and compares drvPath and NAR hashes.
Exit status 1 when any check fails.

${connectionUsage}`

export async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...connectionOptions, 'no-local': { type: 'boolean', default: false } } })
  const inputIndex = parseIndex(positionals[0], 'input-index')
  const connection = await connect(values)
  const application = connection.application
  const indicator = progress(`input ${inputIndex}`)
  const { notice } = await waitForResult(connection.node, { application, inputIndex, onStatus: (status) => indicator.update(inputStatusLine(status)) })
  indicator.update('waiting for the claim')
  const proven = await waitForProof(connection.node, { application, outputIndex: notice.index }).finally(() => indicator.done())
  const onChain = await validateNotice(connection.publicClient, { application, output: proven })
  let local: Awaited<ReturnType<typeof verifyLocally>> | undefined
  if (!values['no-local']) {
    const input = await getInput(connection.node, { application, inputIndex })
    if (!input.payload) throw new CartenixError(`The node did not decode input ${inputIndex}'s payload`)
    local = await verifyLocally({ result: notice.result, request: requestBytes({ payload: input.payload, sender: input.sender }, connection.etherPortal()) })
  }
  const ok = onChain.valid && (local?.verified ?? true)
  if (values.json) {
    console.log(toJson({ inputIndex, outputIndex: notice.index, result: notice.result, onChain, local, ok }))
  } else {
    console.log(renderResult(notice.result))
    console.log(`on-chain    ${onChain.valid ? 'valid: an accepted claim holds this notice' : `INVALID: ${onChain.reason}`}`)
    if (local) {
      console.log(`local eval  ${local.drvPathMatches ? 'same drvPath' : `DIFFERENT drvPath ${local.localDrvPath}`}`)
      for (const output of local.outputs) console.log(`local build ${output.name}: ${output.matches ? 'same NAR hash' : `DIFFERENT NAR hash ${output.local ?? '(not built)'}`}`)
      if (local.notBuilt) console.log(`local build not compared: ${local.notBuilt}`)
    }
  }
  return ok ? 0 : 1
}
