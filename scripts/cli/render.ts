import type { BuildResult } from '../../dapp/protocol/buildResult.ts'
import { hexToNarHash } from '../../dapp/protocol/narHash.ts'
import { describeInputStatus } from '../../dapp/protocol/nodeApi.ts'

/** JSON with bigints as decimal strings. */
export const toJson = (value: unknown) => JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)

export function renderResult(result: BuildResult): string {
  const lines = [
    `drvPath     ${result.drvPath}`,
    `system      ${result.system}`,
    `input       ${result.inputIndex}   request ${result.requestHash}`,
    `build       ${result.success ? 'succeeded' : 'FAILED'}`,
  ]
  for (const output of result.outputs) {
    lines.push(
      `output      ${output.name}  ${output.path}`,
      `  NAR hash  ${output.narHash}`,
      `            ${hexToNarHash(output.narHash)}`,
      `  NAR size  ${output.narSize} bytes`,
    )
  }
  return lines.join('\n')
}

/** An input's status as waitForResult reports it, in words (UNSEEN: the node has not read it yet). */
export const inputStatusLine = (status: string) => (status === 'UNSEEN' ? 'UNSEEN (the node has not read the input yet)' : describeInputStatus(status))

/** A one-line progress indicator on a terminal; plain lines otherwise. */
export function progress(label: string): { update: (status: string) => void; done: () => void } {
  const tty = process.stderr.isTTY
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
  let status = 'waiting'
  let frame = 0
  const started = Date.now()
  const draw = () => process.stderr.write(`\r${frames[frame++ % frames.length]} ${label}: ${status} (${Math.round((Date.now() - started) / 1000)} s)\x1b[K`)
  const timer = tty ? setInterval(draw, 120) : undefined
  return {
    update(next) {
      status = next
      if (!tty) process.stderr.write(`${label}: ${next}\n`)
    },
    done() {
      if (timer) {
        clearInterval(timer)
        process.stderr.write('\r\x1b[K')
      }
    },
  }
}
