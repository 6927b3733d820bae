/** A few lines instead of a framework: elements built from data, text always as text. */
type Child = Node | string | number | bigint | false | null | undefined
type Attributes = Record<string, string | boolean | ((event: Event) => void) | undefined>

export function h(tag: string, attributes: Attributes = {}, ...children: (Child | Child[])[]): HTMLElement {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value)
    else element.setAttribute(name, value === true ? '' : value)
  }
  append(element, children.flat())
  return element
}

export function append(parent: Element, children: Child[]): void {
  for (const child of children) {
    if (child === false || child === null || child === undefined) continue
    parent.append(child instanceof Node ? child : String(child))
  }
}

export function replace(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren()
  append(parent, children.flat())
}

/** An error as a person reads it: viem's and Cartenix's short message first, details after. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const short = (error as { shortMessage?: string }).shortMessage
    const details = (error as { details?: string }).details
    return [short ?? error.message, details].filter(Boolean).join('\n')
  }
  return String(error)
}
