import { parseArgs } from 'node:util'
import type { Hex } from 'viem'
import { listOutputs } from '../../../contracts-client/actions/listOutputs.ts'
import { hostTemplateSystem, isTemplateSystem, templateSystems } from '../../../image/template.ts'
import { replay, type ReplayReport } from '../../replay/replay.ts'
import { connect, connectionOptions, connectionUsage, portalForReexecution } from '../connection.ts'
import { toJson } from '../render.ts'
import { UsageError } from '../usage.ts'

export const replayUsage = `cartenix replay [--from-epoch N] [--system S] [--work-dir DIR] [--json]

Checks every claim of the application by re-executing its inputs, trusting only the chain and
this checkout: rebuilds the machine template (refusing to run unless it equals the
Application's getTemplateHash()), reads the inputs from InputAdded events and the claims from
the consensus, re-executes each input in order with the template's own back end against a Nix
store and node state of its own, and compares each epoch's outputs root with the claim.
Prints a table, claim by claim (under a Quorum, one line per validator's vote, with its
address); exit status 1 on any disagreement.

  --from-epoch N   check claims from epoch N on, executing from the last accepted claim
                   before it; the outputs up to that claim come from the node (--node-url)
                   and are used only if they make the root the chain accepted
  --system S       ${Object.keys(templateSystems).join(' or ')} (default: this host's)
  --work-dir DIR   keep the scratch store and state there (default: a temporary directory, removed)
  --ether-portal ADDR  the EtherPortal the application's back end reads deposits from (required
                   unless the devnet's deployment.json gives it)

${connectionUsage}`

function render(report: ReplayReport): string {
  const lines = [
    `template    ${report.template.hash} (${report.template.system}), the application's`,
    '',
    `${'epoch'.padEnd(6)} ${'inputs'.padEnd(10)} ${'claimed root'.padEnd(66)} ${'replayed root'.padEnd(66)} ${'verdict'.padEnd(26)} claimed by`,
  ]
  for (const epoch of report.epochs) {
    const inputs = epoch.inputs.length === 0 ? '-' : epoch.inputs.length === 1 ? String(epoch.inputs[0]) : `${epoch.inputs[0]}-${epoch.inputs.at(-1)}`
    const verdict = epoch.agrees ? 'agree' : `DISAGREE${epoch.accepted ? ' (claim accepted)' : ''}`
    // One line per claim: under a Quorum, one per validator's vote, so a liar is named by its address.
    lines.push(`${String(epoch.epoch).padEnd(6)} ${inputs.padEnd(10)} ${epoch.claimed} ${epoch.replayed} ${verdict.padEnd(26)} ${epoch.submitter}`)
  }
  const wrong = report.epochs.filter((e) => !e.agrees)
  const perInput = report.inputs.length ? ` (${(report.inputs.reduce((sum, i) => sum + i.ms, 0) / report.inputs.length / 1000).toFixed(1)} s per input)` : ''
  lines.push(
    '',
    report.epochs.length === 0
      ? 'no claims to check yet (none submitted for this application, or none from --from-epoch on)'
      : wrong.length === 0
      ? `${report.epochs.length} claim(s) checked, all agree; ${report.inputs.length} input(s) replayed in ${(report.ms / 1000).toFixed(1)} s${perInput}`
      : `FALSE CLAIM: epoch ${wrong.map((e) => `${e.epoch} by ${e.submitter}`).join(', ')}: the inputs do not give the claimed outputs root (${report.epochs.length} checked)`,
  )
  return lines.join('\n')
}

export async function replayCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...connectionOptions, 'from-epoch': { type: 'string' }, system: { type: 'string' }, 'work-dir': { type: 'string' } },
  })
  const system = values.system ?? hostTemplateSystem()
  if (!isTemplateSystem(system)) throw new UsageError(`--system must be one of ${Object.keys(templateSystems).join(', ')}`)
  const fromEpoch = values['from-epoch'] === undefined ? 0 : Number(values['from-epoch'])
  if (!Number.isSafeInteger(fromEpoch) || fromEpoch < 0) throw new UsageError('--from-epoch must be a non-negative integer')
  const connection = await connect(values)
  const etherPortal = portalForReexecution(connection)
  const report = await replay({
    publicClient: connection.publicClient,
    chainUrl: connection.rpcUrl,
    application: connection.application,
    etherPortal,
    system,
    fromEpoch,
    workDir: values['work-dir'],
    earlierOutputs: async () => {
      const outputs: { inputIndex: number; rawData: Hex }[] = []
      for (let offset = 0; ; ) {
        const page = await listOutputs(connection.node, { application: connection.application, offset, limit: 1000 })
        outputs.push(...page.outputs.map((o) => ({ inputIndex: Number(o.inputIndex), rawData: o.rawData })))
        offset += page.outputs.length
        if (page.outputs.length === 0 || offset >= page.totalCount) return outputs
      }
    },
    onProgress: (event) => {
      if (event.kind === 'setup') console.error(`replay: ${event.message}`)
      else console.error(`replay: input ${event.index} ${event.status.toLowerCase()} in ${(event.ms / 1000).toFixed(1)} s (${event.done}/${event.total})`)
    },
  })
  console.log(values.json ? toJson(report) : render(report))
  return report.agrees ? 0 : 1
}
