/**
 * Past inputs, outputs and epochs, newest first, a page at a time; each input links to its own
 * page. An epoch shows the node's status and the root it computed beside what the chain says:
 * the accepted root and each submission (each validator's vote, in a Quorum), read from the
 * consensus's events, not from the node.
 */
import { describeInputStatus, listClaims, listEpochs, listInputs, listOutputs, votesByEpoch, type CartenixOutput, type EpochVotes, type NodeEpoch } from '../../contracts-client/index.ts'
import type { Connection } from './connection.ts'
import { describeError, h, replace } from './dom.ts'
import { inputRequest } from './input.ts'

type Pages = { inputsPage: number; outputsPage: number; epochsPage: number }
type Kind = 'inputs' | 'outputs' | 'epochs'

const shorten = (text: string, length = 80) => (text.length > length ? `${text.slice(0, length - 1)}…` : text)

function pager(kind: Kind, page: number, pageSize: number, total: number, pages: Pages): HTMLElement {
  const last = Math.max(1, Math.ceil(total / pageSize))
  const link = (to: number, label: string) => {
    const next = { inputs: pages.inputsPage, outputs: pages.outputsPage, epochs: pages.epochsPage, [kind]: to }
    return h('a', { href: `#/?inputs=${next.inputs}&outputs=${next.outputs}&epochs=${next.epochs}`, class: `page-${label}` }, label === 'newer' ? '← newer' : 'older →')
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

const short = (hex: string) => `${hex.slice(0, 10)}…${hex.slice(-4)}`

/** The chain's word on an epoch: the accepted root, and each vote with whether it agrees. */
function epochRow(epoch: NodeEpoch, claims: EpochVotes | undefined): HTMLElement {
  const nodeRoot = epoch.claimHash
  const accepted = claims?.acceptedRoot ?? null
  const nodeAgrees = nodeRoot && accepted ? nodeRoot.toLowerCase() === accepted.toLowerCase() : null
  return h('tr', { 'data-epoch': String(epoch.index) },
    h('td', {}, String(epoch.index)),
    h('td', {}, epoch.status),
    h('td', {}, nodeRoot ? h('code', { title: nodeRoot, class: 'node-root' }, short(nodeRoot)) : '—'),
    h('td', { class: nodeAgrees === false ? 'differs' : '' },
      accepted ? h('code', { title: accepted, class: 'accepted-root' }, short(accepted)) : 'none yet',
      nodeAgrees === false ? ' (not the node’s root)' : null,
    ),
    h('td', {}, h('ul', { class: 'votes' }, (claims?.votes ?? []).map((vote) =>
      h('li', { class: vote.agreesWithAccepted === false ? 'vote differs' : 'vote', title: `transaction ${vote.transactionHash}` },
        h('code', { class: 'voter', title: vote.submitter }, short(vote.submitter)), ' → ',
        h('code', { class: 'voted-root', title: vote.root }, short(vote.root)),
        vote.agreesWithAccepted === null ? '' : vote.agreesWithAccepted ? ' ✓' : ' ✗ differs',
      )))),
  )
}

export async function renderBrowse(section: HTMLElement, connection: Connection, pages: Pages, alive: () => boolean): Promise<void> {
  const { pageSize } = connection.settings
  replace(section, h('h2', {}, 'Past inputs'), h('p', {}, 'loading…'))
  try {
    const [inputs, outputs, epochs, claims] = await Promise.all([
      listInputs(connection.node, { application: connection.application, limit: pageSize, offset: (pages.inputsPage - 1) * pageSize, descending: true }),
      listOutputs(connection.node, { application: connection.application, limit: pageSize, offset: (pages.outputsPage - 1) * pageSize, descending: true }),
      listEpochs(connection.node, { application: connection.application, limit: pageSize, offset: (pages.epochsPage - 1) * pageSize, descending: true }),
      listClaims(connection.publicClient, { application: connection.application }),
    ])
    const votes = new Map<bigint, EpochVotes>(votesByEpoch(claims).map((e) => [e.epochIndex, e]))
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
      h('h2', {}, 'Epochs'),
      h('p', {}, `Claims to the ${connection.consensus.type === 'QUORUM' ? `Quorum of ${connection.consensus.validators.length} validators` : 'Authority'} `, h('code', {}, connection.consensus.address), ', read from the chain.'),
      h('table', { id: 'epochs' },
        h('thead', {}, h('tr', {}, h('th', {}, 'epoch'), h('th', {}, 'status'), h('th', {}, 'node’s root'), h('th', {}, 'accepted root'), h('th', {}, 'votes'))),
        h('tbody', {}, epochs.epochs.map((epoch) => epochRow(epoch, votes.get(epoch.index)))),
      ),
      pager('epochs', pages.epochsPage, pageSize, epochs.totalCount, pages),
    )
  } catch (error) {
    if (alive()) replace(section, h('h2', {}, 'Past inputs'), h('p', { class: 'error' }, describeError(error)))
  }
}
