/** Past inputs and outputs, newest first, a page at a time; each input links to its own page. */
import { describeInputStatus, listInputs, listOutputs, type CartenixOutput } from '../../contracts-client/index.ts'
import type { Connection } from './connection.ts'
import { describeError, h, replace } from './dom.ts'
import { inputRequest } from './input.ts'

type Pages = { inputsPage: number; outputsPage: number }

const shorten = (text: string, length = 80) => (text.length > length ? `${text.slice(0, length - 1)}…` : text)

function pager(kind: 'inputs' | 'outputs', page: number, pageSize: number, total: number, pages: Pages): HTMLElement {
  const last = Math.max(1, Math.ceil(total / pageSize))
  const link = (to: number, label: string) => {
    const next = { inputs: pages.inputsPage, outputs: pages.outputsPage, [kind]: to }
    return h('a', { href: `#/?inputs=${next.inputs}&outputs=${next.outputs}`, class: `page-${label}` }, label === 'newer' ? '← newer' : 'older →')
  }
  const first = total === 0 ? 0 : (page - 1) * pageSize + 1
  return h('p', { class: 'pager', id: `${kind}-pager` },
    page > 1 ? link(page - 1, 'newer') : null,
    ` ${kind} ${first}–${Math.min(page * pageSize, total)} of ${total} (newest first) `,
    page < last ? link(page + 1, 'older') : null,
  )
}

function describeOutput(output: CartenixOutput): string {
  if (output.result) return `${output.result.success ? 'built' : 'failed'} ${output.result.drvPath}`
  if (output.source) return `source added ${output.source.name} → ${output.source.storePath}`
  if (output.decoded.type === 'Notice') return 'a notice that is not a Cartenix result'
  return `to ${output.decoded.destination}`
}

export async function renderBrowse(section: HTMLElement, connection: Connection, pages: Pages, alive: () => boolean): Promise<void> {
  const { pageSize } = connection.settings
  replace(section, h('h2', {}, 'Past inputs'), h('p', {}, 'loading…'))
  try {
    const [inputs, outputs] = await Promise.all([
      listInputs(connection.node, { application: connection.application, limit: pageSize, offset: (pages.inputsPage - 1) * pageSize, descending: true }),
      listOutputs(connection.node, { application: connection.application, limit: pageSize, offset: (pages.outputsPage - 1) * pageSize, descending: true }),
    ])
    if (!alive()) return
    replace(
      section,
      h('h2', {}, 'Past inputs'),
      h('table', { id: 'inputs' },
        h('thead', {}, h('tr', {}, h('th', {}, 'input'), h('th', {}, 'status'), h('th', {}, 'epoch'), h('th', {}, 'sender'), h('th', {}, 'request'))),
        h('tbody', {}, inputs.inputs.map((input) =>
          h('tr', {},
            h('td', {}, h('a', { href: `#/input/${input.index}` }, String(input.index))),
            h('td', { title: describeInputStatus(input.status) }, input.status),
            h('td', {}, String(input.epochIndex)),
            h('td', {}, h('code', {}, input.sender ?? '')),
            h('td', {}, h('code', {}, shorten(inputRequest(input, connection.settings.etherPortal).text))),
          ))),
      ),
      pager('inputs', pages.inputsPage, pageSize, inputs.totalCount, pages),
      h('h2', {}, 'Past outputs'),
      h('table', { id: 'outputs-list' },
        h('thead', {}, h('tr', {}, h('th', {}, 'output'), h('th', {}, 'type'), h('th', {}, 'input'), h('th', {}, 'epoch'), h('th', {}, 'what'), h('th', {}, 'proof'))),
        h('tbody', {}, outputs.outputs.map((output) =>
          h('tr', {},
            h('td', {}, String(output.index)),
            h('td', {}, output.decoded.type),
            h('td', {}, h('a', { href: `#/input/${output.inputIndex}` }, String(output.inputIndex))),
            h('td', {}, String(output.epochIndex)),
            h('td', {}, h('code', { title: describeOutput(output) }, shorten(describeOutput(output), 100))),
            h('td', {}, output.siblings ? 'claimed' : 'not yet'),
          ))),
      ),
      pager('outputs', pages.outputsPage, pageSize, outputs.totalCount, pages),
    )
  } catch (error) {
    if (alive()) replace(section, h('h2', {}, 'Past inputs'), h('p', { class: 'error' }, describeError(error)))
  }
}
