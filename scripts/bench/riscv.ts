/**
 * Item 5: GNU hello built for riscv64 inside the machine's root file system under qemu-user,
 * against the native build of the same package, side by side in one run (each from scratch:
 * its output deleted first). Skipped when `npm run image` has not been run.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { buildTarget } from '../../dapp/nix/build.ts'
import { enterChroot } from '../../image/rootfs/chroot.ts'
import { emulationNixConfig, machineRoot, rootfsDir } from '../../image/rootfs/build.ts'
import type { SectionResult } from './report.ts'
import { deleteFromStore, outputsOf } from './store.ts'

export async function benchRiscv(): Promise<SectionResult> {
  const present = await stat(join(rootfsDir, 'usr/bin/node')).then(() => true, () => false)
  if (!present) {
    return {
      rows: [{ item: 5, what: 'riscv64 hello build vs native', figure: 'not measured (no image: run `npm run image`)', target: '', status: 'not measured' }],
      data: { imagePresent: false },
      notes: [],
    }
  }
  const native = await outputsOf({ attr: 'hello' })
  await deleteFromStore(native.outputs)
  const nativeStart = performance.now()
  await buildTarget({ attr: 'hello' })
  const nativeMs = performance.now() - nativeStart

  const chroot = await enterChroot(rootfsDir)
  try {
    const env = { ...process.env, NIX_CONFIG: emulationNixConfig }
    const args = [`${machineRoot}/image/pkgs`, '--attr', 'hello', '--argstr', 'system', 'riscv64-linux']
    const { stdout: drv } = await chroot.run('nix-instantiate', args, { env })
    const { stdout: out } = await chroot.run('nix-store', ['--query', '--outputs', drv.trim()])
    const { stdout: invalid } = await chroot.run('nix-store', ['--check-validity', '--print-invalid', out.trim()])
    if (invalid.trim() === '') await chroot.run('nix-store', ['--delete', out.trim()])
    const riscvStart = performance.now()
    await chroot.run('nix-store', ['--realise', drv.trim()], { env })
    const riscvMs = performance.now() - riscvStart
    const ratio = riscvMs / nativeMs
    return {
      rows: [
        {
          item: 5,
          what: 'riscv64 hello build vs native',
          figure: `${ratio.toFixed(1)}x (riscv64 under qemu-user ${(riscvMs / 1000).toFixed(1)} s, native ${(nativeMs / 1000).toFixed(1)} s)`,
          target: '',
          status: 'no target',
        },
      ],
      data: { imagePresent: true, nativeMs, riscvMs, ratio },
      notes: ['riscv64: the emulated build runs without the Nix sandbox (qemu-user cannot emulate namespace clone flags); see README.'],
    }
  } finally {
    await chroot.release()
  }
}
