import { describe, expect, it } from 'vitest'
import { CommandFailedError } from '../lib/exec.ts'
import { buildTarget } from './build.ts'
import { runNix } from './env.ts'
import { BuildFailedError } from './errors.ts'
import { logExcerpt } from './log.ts'

/** What Nix prints on stderr when it cannot evaluate `expr`. */
async function nixError(expr: string, flags: string[] = []): Promise<string> {
  const failed = await runNix('nix-instantiate', ['--eval', ...flags, '--expr', expr]).catch((error: unknown) => error)
  if (!(failed instanceof CommandFailedError)) throw new Error(`Nix evaluated ${expr.slice(0, 60)}…`)
  return failed.stderr
}

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8')

/** The echoed source line and the caret line under it. */
function frameOf(log: string): { source: string; caret: string } {
  const lines = log.split('\n')
  const at = lines.findIndex((line) => /^\s*\d+\| /.test(line))
  return { source: lines[at] ?? '', caret: lines[at + 1] ?? '' }
}

describe('logExcerpt', () => {
  it('keeps the error: line and the position of an error at the end of a 10 000-character line, and the caret under it', async () => {
    const expr = `let a = 1; in ${'a + '.repeat(2500)}undefinedVar`
    const message = await nixError(expr)
    // What a plain tail of the message kept: the end of the echoed line, a caret, and no reason.
    expect(message.slice(-4096)).not.toContain('error:')

    const log = logExcerpt(message, 4096)
    expect(log).toContain("error: undefined variable 'undefinedVar'")
    expect(log).toContain(`at «string»:1:${expr.indexOf('undefinedVar') + 1}:`)
    expect(byteLength(log)).toBeLessThanOrEqual(4096)
    expect(byteLength(log)).toBeLessThan(600)
    const { source, caret } = frameOf(log)
    expect(source).toMatch(/^\s+1\| …[a +]+undefinedVar$/)
    expect(caret.indexOf('^')).toBe(source.indexOf('undefinedVar'))
  })

  it('cuts the echoed line after the caret when the error is at its start', async () => {
    const message = await nixError(`undefinedVar + ${'1 + '.repeat(2500)}1`)
    const log = logExcerpt(message, 4096)
    expect(log).toContain("error: undefined variable 'undefinedVar'")
    expect(log).toContain('at «string»:1:1:')
    const { source, caret } = frameOf(log)
    expect(source).toMatch(/^\s+1\| undefinedVar \+ (1 \+ )+1? ?…$/)
    expect(caret.indexOf('^')).toBe(source.indexOf('undefinedVar'))
    expect(source.length).toBeLessThan(160)
  })

  it('keeps a short message as Nix wrote it', async () => {
    const message = await nixError('let x = 1; in x + undefinedVar')
    expect(logExcerpt(message, 4096)).toBe(message)
  })

  it("keeps Nix's first error: line ahead of the end of a trace longer than the budget", async () => {
    const message = await nixError('let f = n: if n == 0 then throw "boom" else 1 + f (n - 1); in f 40', ['--show-trace'])
    expect(byteLength(message)).toBeGreaterThan(4096)
    const log = logExcerpt(message, 1024)
    expect(byteLength(log)).toBeLessThanOrEqual(1024)
    expect(log.startsWith('error: boom\n…\n')).toBe(true)
    expect(message.endsWith(log.slice('error: boom\n…\n'.length))).toBe(true)
  })

  it("keeps the builder's lines and Nix's error: line when the build's last line is 20 000 characters", async () => {
    const expr = `pkgs: pkgs.mkDerivation { name = "long-last-line-${process.pid}-${Date.now()}"; buildPhase = "echo starting; printf '%20000s' x; exit 3"; }`
    const failed = await buildTarget({ expr }, { logTailBytes: 4096 }).catch((error: unknown) => error)
    expect(failed).toBeInstanceOf(BuildFailedError)
    const { logTail } = failed as BuildFailedError
    expect(byteLength(logTail)).toBeLessThanOrEqual(4096)
    expect(logTail).toContain('starting\n')
    expect(logTail).toMatch(/\nerror: builder for '\/nix\/store\/[^']+-long-last-line-[^']+\.drv' failed with exit code 3/)
  }, 120_000)

  it('never cuts a character in two', () => {
    const log = logExcerpt(`error: ${'é'.repeat(3000)}\n${'€'.repeat(3000)}`, 257)
    expect(byteLength(log)).toBeLessThanOrEqual(257)
    expect(log).not.toContain('\ufffd')
    expect(log.startsWith('error: éé')).toBe(true)
  })
})
