import { parseArgs } from 'node:util'
import { computeTemplate, hostTemplateSystem, isTemplateSystem, templateSystems } from '../../../image/template.ts'
import { toJson } from '../render.ts'
import { UsageError } from '../usage.ts'

export const templateUsage = `cartenix template [--system S] [--json]

Prints the machine template hash, computed from this checkout and its locks alone (anyone at
the same commit gets the same hash), and what went into it: the back end as bundled, every file
evaluation reads (package set and locks), the sources lock, the seed lock, Nix's settings and
the system. The devnet deploys the Application with this hash; \`cartenix replay\` refuses to run
against an Application deployed with another.

  --system S   ${Object.keys(templateSystems).join(' or ')} (default: this host's)
  --json       the hash and every component (with each file of the package set) as JSON`

export async function templateCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { system: { type: 'string' }, json: { type: 'boolean', default: false } } })
  const system = values.system ?? hostTemplateSystem()
  if (!isTemplateSystem(system)) throw new UsageError(`--system must be one of ${Object.keys(templateSystems).join(', ')}`)
  const template = await computeTemplate({ system })
  if (values.json) {
    console.log(toJson(template))
    return 0
  }
  console.log(`template    ${template.hash}   (cartenix-template ${template.version}, ${template.system})`)
  const width = Math.max(...template.components.map((c) => c.name.length))
  for (const component of template.components) {
    const files = component.files ? `, ${component.files.length} files` : ''
    console.log(`  ${component.name.padEnd(width)}  ${component.sha256}  ${component.description}${files}`)
  }
  return 0
}
