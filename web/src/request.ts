/**
 * The request form: an attribute of the package set (the back end lists them through inspect)
 * or an expression, an optional callback contract, optional Ether (through the EtherPortal).
 */
import { isAddress, parseEther, type Address } from 'viem'
import { inspectState, requestBuild, type BuildRequestInput } from '../../contracts-client/index.ts'
import { attributesAnswer } from '../../dapp/protocol/inspect.ts'
import type { Connection } from './connection.ts'
import { describeError, h, replace } from './dom.ts'

async function packageAttributes(connection: Connection): Promise<string[]> {
  const { reports, status } = await inspectState({ url: connection.settings.inspectUrl, application: connection.application, query: { query: 'attributes' } })
  const answer = attributesAnswer.safeParse(reports[0]?.json)
  if (status !== 'Accepted' || !answer.success) throw new Error(`The back end did not list its attributes (inspect ${status})`)
  return answer.data.attributes
}

export async function renderRequest(section: HTMLElement, connection: Connection): Promise<void> {
  const attrSelect = h('select', { id: 'attr', name: 'attr' }, h('option', {}, 'listing…')) as HTMLSelectElement
  const exprArea = h('textarea', { id: 'expr', name: 'expr', rows: '4', placeholder: 'pkgs: pkgs.mkDerivation { … }', spellcheck: 'false' }) as HTMLTextAreaElement
  const kindAttr = h('input', { type: 'radio', name: 'kind', value: 'attr', id: 'kind-attr', checked: true }) as HTMLInputElement
  const kindExpr = h('input', { type: 'radio', name: 'kind', value: 'expr', id: 'kind-expr' }) as HTMLInputElement
  const callback = h('input', { id: 'callback', name: 'callback', placeholder: '0x… (optional)', size: '44' }) as HTMLInputElement
  const value = h('input', { id: 'value', name: 'value', placeholder: '0', size: '8', disabled: !connection.settings.etherPortal }) as HTMLInputElement
  const submit = h('button', { type: 'submit', id: 'submit', disabled: !connection.signer }, 'Request build') as HTMLButtonElement
  const message = h('p', { id: 'request-message', role: 'status' })
  exprArea.addEventListener('focus', () => (kindExpr.checked = true))
  attrSelect.addEventListener('focus', () => (kindAttr.checked = true))

  const onSubmit = async (event: Event) => {
    event.preventDefault()
    const signer = connection.signer
    if (!signer) return
    const request: BuildRequestInput = kindExpr.checked ? { expr: exprArea.value } : { attr: attrSelect.value }
    const target = callback.value.trim()
    if (target) {
      if (!isAddress(target)) return replace(message, h('span', { class: 'error' }, 'The callback must be an address: 0x and 40 hex digits'))
      request.callback = target as Address
    }
    let wei = 0n
    try {
      wei = value.value.trim() ? parseEther(value.value.trim()) : 0n
    } catch {
      return replace(message, h('span', { class: 'error' }, 'The value must be a number of ETH, like 0.01'))
    }
    submit.disabled = true
    replace(message, wei > 0n ? 'Sending the request through the EtherPortal…' : 'Sending the request through the InputBox…')
    try {
      const sent = await requestBuild(signer.walletClient, {
        application: connection.application,
        inputBox: connection.inputBox,
        request,
        value: wei,
        etherPortal: connection.settings.etherPortal,
      })
      location.hash = `#/input/${sent.inputIndex}`
    } catch (error) {
      replace(message, h('span', { class: 'error' }, `The request was not sent: ${describeError(error)}`))
      submit.disabled = false
    }
  }

  replace(
    section,
    h('h2', {}, 'Request a build'),
    h('form', { id: 'request-form', onsubmit: (event) => void onSubmit(event) },
      h('p', {}, h('label', {}, kindAttr, ' an attribute of the package set '), attrSelect),
      h('p', {}, h('label', {}, kindExpr, ' or an expression, a function of the package set')),
      exprArea,
      h('p', {}, h('label', {}, 'callback ', callback), ' a contract that receives the result through a voucher, such as a CartenixRegistry'),
      h('p', {}, h('label', {}, 'Ether to send ', value), connection.settings.etherPortal ? ' ETH, through the EtherPortal' : ' (set ?portal= to the EtherPortal to send Ether)'),
      h('p', {}, submit, connection.signer ? '' : ' (connect an account to send)'),
    ),
    message,
  )
  try {
    const attributes = await packageAttributes(connection)
    replace(attrSelect, attributes.map((name) => h('option', { value: name, selected: name === 'hello' }, name)))
  } catch (error) {
    replace(attrSelect, h('option', { value: '' }, 'could not list'))
    replace(message, h('span', { class: 'error' }, describeError(error)))
  }
}
