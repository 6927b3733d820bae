/**
 * Item 5: hello built for riscv64 under emulation, against the native build. PLACEHOLDER: the
 * machine image is built elsewhere and this bench does not build it; it only says whether the
 * image is there, so the lead can put the real measurement here.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { SectionResult } from './report.ts'
import { imageDir } from './sizes.ts'

export async function benchRiscv(): Promise<SectionResult> {
  const shell = join(imageDir, 'rootfs', 'bin', 'sh')
  const present = await stat(shell).then(() => true, () => false)
  return {
    rows: [
      {
        item: 5,
        what: 'riscv64 hello build vs native',
        // TODO(lead): measure once the image exists; until then this row is a placeholder.
        figure: present ? `not measured (placeholder; image found at ${shell})` : 'not measured (image not built)',
        target: '',
        status: 'not measured',
      },
    ],
    data: { placeholder: true, imageShell: shell, imagePresent: present },
    notes: [],
  }
}
