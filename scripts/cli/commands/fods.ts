import { parseArgs } from 'node:util'
import { listFixedOutputs, type FixedOutput } from '../../../dapp/nix/fods.ts'
import type { BuildTarget } from '../../../dapp/protocol/request.ts'
import { UsageError } from '../usage.ts'

export const fodsUsage = `cartenix fods <attr> [--json] [--system S]
cartenix fods --expr '<pkgs: …>' [--json] [--system S]

Lists every fixed-output derivation (injected source) in the build closure of an attribute of
the package set, or of an expression that is a function of it: name, mode, sha256, store path,
and whether it is present. Exits 1 when any is missing.`

function render(fods: FixedOutput[]): string {
  const width = Math.max(...fods.map((f) => f.name.length))
  return fods
    .map((f) => `${f.present ? 'present' : 'MISSING'}  ${f.name.padEnd(width)}  ${f.mode.padEnd(9)}  sha256:${f.sha256}  ${f.storePath}`)
    .join('\n')
}

export async function fodsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, expr: { type: 'string' }, system: { type: 'string' } },
  })
  if (positionals.length > 1 || (positionals.length === 1) === (values.expr !== undefined)) {
    throw new UsageError('give exactly one of <attr> or --expr')
  }
  const target: BuildTarget = values.expr !== undefined ? { expr: values.expr } : { attr: positionals[0] ?? '' }
  const fods = await listFixedOutputs(target, { system: values.system })
  const missing = fods.filter((f) => !f.present)
  if (values.json) {
    console.log(JSON.stringify(fods, null, 2))
  } else {
    console.log(render(fods))
    if (missing.length > 0) {
      console.error(`\n${missing.length} of ${fods.length} fixed-output sources are missing; add the locked ones with \`npm run sources\`, or bring each to the machine through the rollup:`)
      for (const f of missing) console.error(`  npx cartenix upload <${f.mode === 'flat' ? 'file' : 'file or directory'} with sha256 ${f.sha256}> --name ${f.name}${f.mode === 'recursive' ? ' --recursive' : ''}`)
    }
  }
  return missing.length > 0 ? 1 : 0
}
