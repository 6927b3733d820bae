/** Source characters a code frame keeps on each side of its caret (more on one side at an end of the line). */
const frameReach = 60
const frameWidth = 2 * frameReach + 1

/** `            1| <source>`: a line of the request as Nix echoes it under an error. */
const sourceLine = /^(\s*\d+\| )(.*)$/
/** `             |       ^`: the caret under the column of the error (colours allowed). */
const caretLine = /^(\s*\|)( *)((?:\x1b\[[\d;]*m)*\^.*)$/

/** How much of Nix's log a report carries unless told otherwise (CARTENIX_LOG_TAIL_BYTES). */
export const defaultLogTailBytes = 4096

/**
 * What a report carries of a Nix log (an evaluation error, or a failed build's output), in at
 * most `maxBytes` UTF-8 bytes, keeping what says why. Nix echoes the source line of an error
 * in full under its `error:` line and position, so for a request written on one long line the
 * log's end is that line and a caret, and its last bytes say nothing. So, in turn, until the
 * log fits:
 * - each echoed source line longer than 121 characters is cut to a window around the caret
 *   (always: it is the request itself), with the caret moved to stay under its column;
 * - any other line longer than an eighth of the budget keeps its two ends;
 * - the end of the log is kept (a failed build says why last), after Nix's first `error:` line
 *   when the end alone would lose it.
 *
 * @example
 * logExcerpt(error.message, 4096)
 * // error: undefined variable 'undefinedVar'
 * //
 * //        at «string»:1:10015:
 * //
 * //             1| …a + a + a + a + undefinedVar
 * //              |                    ^
 * // (use '--show-trace' to show detailed location information)
 */
export function logExcerpt(text: string, maxBytes: number): string {
  const framed = shortenFrames(text.split('\n'))
  if (byteLength(framed.join('\n')) <= maxBytes) return framed.join('\n')
  const width = Math.max(40, Math.floor(maxBytes / 8))
  const lines = framed.map((line) => (line.length > width ? keepEnds(line, width) : line))
  const shortened = lines.join('\n')
  if (byteLength(shortened) <= maxBytes) return shortened
  const end = lastBytes(shortened, maxBytes)
  const error = lines.find((line) => line.startsWith('error:'))
  if (!error || end.includes(error)) return end
  const head = `${error}\n…\n`
  if (byteLength(head) > maxBytes / 2) return end
  return head + lastBytes(shortened, maxBytes - byteLength(head))
}

/** Cuts the source lines of each code frame with a caret to one window of columns around it. */
function shortenFrames(lines: string[]): string[] {
  const out = [...lines]
  for (let first = 0; first < lines.length; first++) {
    if (!isFrameLine(lines[first] ?? '')) continue
    let last = first
    while (last + 1 < lines.length && isFrameLine(lines[last + 1] ?? '')) last++
    const from = first
    const frame = lines.slice(from, last + 1)
    first = last
    const caret = frame.map((line) => caretLine.exec(line)).find((match) => match)
    if (!caret) continue
    // `|`, then as many spaces as the column, then `^`; the source line is `| ` and the source.
    const column = (caret[2] ?? ' ').length - 1
    const longest = Math.max(...frame.map((line) => (sourceLine.exec(line)?.[2] ?? '').length))
    if (longest <= frameWidth) continue
    const start = Math.max(0, Math.min(column - frameReach, longest - frameWidth))
    const end = start + frameWidth
    frame.forEach((line, i) => {
      const source = sourceLine.exec(line)
      const arrow = caretLine.exec(line)
      if (source) {
        const [, prefix = '', code = ''] = source
        out[from + i] = `${prefix}${start > 0 ? '…' : ''}${code.slice(start, end)}${code.length > end ? '…' : ''}`
      } else if (arrow) {
        const [, bar = '', , mark = ''] = arrow
        out[from + i] = `${bar} ${start > 0 ? ' ' : ''}${' '.repeat(column - start)}${mark}`
      }
    })
  }
  return out
}

const isFrameLine = (line: string) => sourceLine.test(line) || caretLine.test(line)

/** The line's first and last characters, `width` in all with the `…` between them. */
function keepEnds(line: string, width: number): string {
  let head = Math.floor((width - 1) / 2)
  let tail = line.length - (width - 1 - head)
  // Never split a surrogate pair: half a character would not encode.
  if (isHighSurrogate(line.charCodeAt(head - 1))) head--
  if (isLowSurrogate(line.charCodeAt(tail))) tail++
  return `${line.slice(0, head)}…${line.slice(tail)}`
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8')

/** The last `maxBytes` bytes of the text's UTF-8, from the first whole character. */
function lastBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length <= maxBytes) return text
  let start = bytes.length - maxBytes
  while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++
  return bytes.subarray(start).toString('utf8')
}
