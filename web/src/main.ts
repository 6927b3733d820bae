/**
 * The Cartenix page: request a Nix build, follow it, and validate its notice on-chain, from the
 * browser alone. It reads the rollups node's JSON-RPC and the chain directly, with the same
 * client library as the CLI (contracts-client/), so it works against any node.
 *
 * Routes (in the URL's fragment, so a static server needs no rewrites):
 *   #/            request form, past inputs and outputs (#/?inputs=2&outputs=3 for other pages)
 *   #/input/N     one input, followed live: status, notice, reports, on-chain validation, vouchers
 */
import { connect, connectInjected, type Connection } from './connection.ts'
import { describeError, h, replace } from './dom.ts'
import { renderBrowse } from './browse.ts'
import { renderInput } from './input.ts'
import { renderRequest } from './request.ts'
import { loadSettings } from './settings.ts'

const connectionPanel = document.getElementById('connection') as HTMLElement
const view = document.getElementById('view') as HTMLElement

/** Bumped on every navigation: a view that awaited something checks it is still the one shown. */
/** The current view's: aborted when the route changes, so that its waits and renders stop. */
let current: AbortController | undefined

function renderConnection(connection: Connection): void {
  const { signer } = connection
  const account = signer
    ? h('span', {}, h('code', { id: 'account' }, signer.address), ' ',
        signer.kind === 'devnet'
          ? h('span', { class: 'badge warn', id: 'account-kind' }, "anvil's development account: a devnet key known to everyone, not a wallet")
          : h('span', { class: 'badge', id: 'account-kind' }, 'your wallet'))
    : window.ethereum
      ? h('button', { id: 'connect-wallet', onclick: () => void connectWallet(connection) }, 'Connect wallet')
      : h('span', { class: 'badge warn' }, 'no wallet in this browser: read only')
  replace(
    connectionPanel,
    h('dl', { class: 'facts' },
      h('dt', {}, 'chain'), h('dd', {}, h('span', { id: 'chain' }, `${connection.chain.name} (id ${connection.chain.id})`), ' ', h('code', {}, connection.settings.chainUrl)),
      h('dt', {}, 'application'), h('dd', {}, h('code', { id: 'application' }, connection.application), ` (${connection.applicationName}, epochs of ${connection.epochLength} block${connection.epochLength === 1n ? '' : 's'})`),
      h('dt', {}, 'consensus'), h('dd', { id: 'consensus' },
        connection.consensus.type === 'QUORUM' ? `Quorum of ${connection.consensus.validators.length} validators ` : 'Authority ',
        h('code', {}, connection.consensus.address)),
      h('dt', {}, 'template hash'), h('dd', {}, h('code', { id: 'template-hash' }, connection.templateHash), ' (read from the Application contract)'),
      h('dt', {}, 'node'), h('dd', {}, h('code', { id: 'node-url' }, connection.settings.nodeUrl)),
      h('dt', {}, 'account'), h('dd', {}, account),
    ),
  )
}

async function connectWallet(connection: Connection): Promise<void> {
  try {
    connection.signer = await connectInjected(connection)
  } catch (error) {
    alert(describeError(error))
  }
  renderConnection(connection)
  route(connection)
}

function route(connection: Connection): void {
  // What the previous view was waiting for stops polling the node.
  current?.abort(new DOMException('the page moved on', 'AbortError'))
  const controller = new AbortController()
  current = controller
  const [path = '/', query = ''] = location.hash.replace(/^#/, '').split('?')
  const params = new URLSearchParams(query)
  const input = /^\/input\/(\d+)$/.exec(path)
  if (input?.[1] !== undefined) {
    document.title = `Cartenix: input ${input[1]}`
    void renderInput(view, connection, BigInt(input[1]), controller.signal)
    return
  }
  document.title = 'Cartenix'
  const pageOf = (name: string) => Math.max(1, Number.parseInt(params.get(name) ?? '1', 10) || 1)
  const form = h('section', { id: 'request' })
  const browse = h('section', { id: 'browse' })
  replace(view, form, browse)
  void renderRequest(form, connection)
  void renderBrowse(browse, connection, { inputsPage: pageOf('inputs'), outputsPage: pageOf('outputs'), epochsPage: pageOf('epochs') }, () => !controller.signal.aborted)
}

async function start(): Promise<void> {
  try {
    const settings = await loadSettings(location)
    const connection = await connect(settings)
    renderConnection(connection)
    window.addEventListener('hashchange', () => route(connection))
    route(connection)
  } catch (error) {
    replace(connectionPanel, h('p', { class: 'error', id: 'connection-error' }, `Cannot connect: ${describeError(error)}`))
  }
}

void start()
