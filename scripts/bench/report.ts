/**
 * What the bench prints and saves. Targets are printed beside the measured figure and marked met
 * or not met; they are never asserted, since one noisy run must not fail anything.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

export type Status = 'met' | 'not met' | 'no target' | 'not measured'

/**
 * The bench's sections, each named by what it measures, in the order the table lists them; the
 * names are what `--only` takes and the keys of results.json's `sections`.
 */
export const sections = {
  overhead: 'what the rollup adds to a cold build of hello, against building it directly',
  cached: 'the same request again, its output in the store: one at a time, then a burst',
  merkle: "the outputs Merkle tree: appending N outputs, and one output's 63 siblings",
  latency: 'from an input on the chain to the back end holding it, with no build',
  riscv64: 'hello natively, under qemu-user and in the VM (boot, RAM, disk); needs the image',
  sizes: 'what the machine carries: the seed, the sources, the root file system, the image',
  'binary-cache': '`cartenix cache`: narinfo latency, nix copy against a plain file:// cache',
  upload: 'sources through the rollup: inputs, gas and wall time per MiB uploaded',
  quorum: 'a Quorum of three against the Authority, per input; a validator catching up from nothing',
} as const satisfies Record<string, string>
export type SectionName = keyof typeof sections
export const sectionNames = Object.keys(sections) as SectionName[]

export type Row = {
  section: SectionName
  what: string
  figure: string
  target: string
  status: Status
}

/** A section's outcome: rows for the table, raw numbers for the JSON file, notes on method. */
export type SectionResult = { rows: Row[]; data: Record<string, unknown>; notes: string[] }

export const judged = (met: boolean): Status => (met ? 'met' : 'not met')

/** A section that could not run says so in the table, in its own row, instead of aborting the bench. */
export function failedSection(section: SectionName, what: string, error: unknown): SectionResult {
  const message = error instanceof Error ? error.message.split('\n')[0] ?? error.name : String(error)
  return {
    rows: [{ section, what, figure: `not measured: ${message}`, target: '', status: 'not measured' }],
    data: { error: error instanceof Error ? (error.stack ?? error.message) : String(error) },
    notes: [],
  }
}

/** A fixed-width table; long figures wrap nothing, they just widen their column. */
export function renderTable(rows: readonly Row[]): string {
  const header = ['section', 'measurement', 'figure', 'target', 'status']
  const cells = rows.map((r) => [r.section, r.what, r.figure, r.target || '-', r.status])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)))
  const line = (c: readonly string[]) => c.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)
  await writeFile(path, `${text}\n`)
}
