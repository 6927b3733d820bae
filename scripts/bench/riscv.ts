/**
 * The `riscv64` section: GNU hello built for riscv64, side by side in one run, each from scratch:
 * natively (the host's own system), inside the machine's root file system under qemu-user, and in
 * the machine as a whole VM without and with the determinism settings (vm.ts: boot time, RAM, disk
 * too). `ways` picks which of the riscv64 runs go (default all). Skipped when `npm run image` has
 * not been run.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { buildTarget } from '../../dapp/nix/build.ts'
import { enterChroot } from '../../image/rootfs/chroot.ts'
import { emulationNixConfig, ext2Path, machineRoot, rootfsDir } from '../../image/rootfs/build.ts'
import type { Row, SectionResult } from './report.ts'
import { benchVmRun, imageHolds, type VmRun } from './vm.ts'
import { deleteFromStore, outputsOf } from './store.ts'

export type RiscvWay = 'user' | 'vm' | 'vm-deterministic'
export const riscvWays: readonly RiscvWay[] = ['user', 'vm', 'vm-deterministic']

export async function benchRiscv(ways: readonly RiscvWay[], log: (line: string) => void): Promise<SectionResult> {
  const present = await stat(join(rootfsDir, 'usr/bin/node')).then(() => true, () => false)
  if (!present) {
    return {
      rows: [{ section: 'riscv64', what: 'riscv64 hello build vs native', figure: 'not measured (no image: run `npm run image`)', target: '', status: 'not measured' }],
      data: { imagePresent: false },
      notes: [],
    }
  }
  const native = await outputsOf({ attr: 'hello' })
  await deleteFromStore(native.outputs)
  const nativeStart = performance.now()
  await buildTarget({ attr: 'hello' })
  const nativeMs = performance.now() - nativeStart

  const rows: Row[] = []
  const notes: string[] = []
  const data: Record<string, unknown> = { imagePresent: true, nativeMs }
  const took = (ms: number) => `${(ms / 1000).toFixed(1)} s`

  const hello = await riscvHello()
  let userMs: number | undefined
  if (ways.includes('user')) {
    userMs = await buildUnderQemuUser(hello)
    data.riscvMs = userMs
    rows.push({ section: 'riscv64', what: 'riscv64 hello build vs native', figure: `${(userMs / nativeMs).toFixed(1)}x (riscv64 under qemu-user ${took(userMs)}, native ${took(nativeMs)})`, target: '', status: 'no target' })
    notes.push('riscv64 under qemu-user: the build runs without the Nix sandbox (qemu-user cannot emulate namespace clone flags); see docs/riscv64-machine.md.')
  }

  const vmRuns: VmRun[] = []
  if ((ways.includes('vm') || ways.includes('vm-deterministic')) && (await imageHolds(hello.out))) {
    throw new Error(`The VM's image already holds ${hello.out}, so the VM would not build it: run \`npm run image -- --attrs hello\` again`)
  }
  for (const deterministic of [false, true]) {
    if (!ways.includes(deterministic ? 'vm-deterministic' : 'vm')) continue
    // One VM run that fails says so in its row; the other runs' figures stand.
    try {
      vmRuns.push(await benchVmRun(deterministic, log))
    } catch (error) {
      const message = (error as Error).message
      log(`VM${deterministic ? ' (deterministic)' : ''}: ${message}`)
      rows.push({ section: 'riscv64', what: `hello in the VM${deterministic ? ' (deterministic)' : ''}`, figure: `not measured: ${message.split('\n')[0]}`, target: '', status: 'not measured' })
      notes.push(`VM${deterministic ? ' (deterministic)' : ''}: ${message}`)
    }
  }
  data.vm = vmRuns
  const [plain, fixed] = [vmRuns.find((r) => !r.deterministic), vmRuns.find((r) => r.deterministic)]
  if (plain) {
    rows.push({
      section: 'riscv64',
      what: 'hello in the VM vs native',
      figure: `${(plain.helloMs / nativeMs).toFixed(1)}x (VM ${took(plain.helloMs)}, native ${took(nativeMs)}${userMs ? `; ${(plain.helloMs / userMs).toFixed(2)}x qemu-user's` : ''})`,
      target: '',
      status: 'no target',
    })
  }
  if (plain && fixed) {
    rows.push({
      section: 'riscv64',
      what: 'VM determinism settings: cost',
      figure: `hello ${(fixed.helloMs / plain.helloMs).toFixed(2)}x (${took(fixed.helloMs)} vs ${took(plain.helloMs)}); boot ${took(fixed.bootMs)} vs ${took(plain.bootMs)}`,
      target: '',
      status: 'no target',
    })
    if (fixed.narHash !== plain.narHash) notes.push(`The VM's hello differed with the determinism settings: ${fixed.narHash} vs ${plain.narHash}.`)
  }
  for (const run of vmRuns) {
    rows.push({
      section: 'riscv64',
      what: `VM${run.deterministic ? ' (deterministic)' : ''}: boot, RAM, disk`,
      figure: `boot to back end ${took(run.bootMs)}; QEMU peak RSS ${mib(run.peakRssBytes)} of 2048 MiB; wrote ${mib(run.writtenBytes)} over the ${mib((await stat(ext2Path)).size)} image`,
      target: '',
      status: 'no target',
    })
  }
  if (vmRuns.length > 0) notes.push('VM: boot is QEMU started to the back end serving (most of it Node.js starting under emulation); hello is the addInput receipt to its notice; RSS includes the guest page cache.')
  return { rows, data, notes }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`

type RiscvHello = { drv: string; out: string }

/** hello's riscv64 derivation and output, as the tree's Nix evaluates them. */
async function riscvHello(): Promise<RiscvHello> {
  const chroot = await enterChroot(rootfsDir)
  try {
    const env = { ...process.env, NIX_CONFIG: emulationNixConfig }
    const { stdout: drv } = await chroot.run('nix-instantiate', [`${machineRoot}/image/pkgs`, '--attr', 'hello', '--argstr', 'system', 'riscv64-linux'], { env })
    const { stdout: out } = await chroot.run('nix-store', ['--query', '--outputs', drv.trim()])
    return { drv: drv.trim(), out: out.trim() }
  } finally {
    await chroot.release()
  }
}

/** hello for riscv64 in the tree under qemu-user, from scratch; the tree is left without it (it is cached, and the VM's image is packed from it). */
async function buildUnderQemuUser(hello: RiscvHello): Promise<number> {
  const chroot = await enterChroot(rootfsDir)
  try {
    const env = { ...process.env, NIX_CONFIG: emulationNixConfig }
    const forget = async () => {
      const { stdout: invalid } = await chroot.run('nix-store', ['--check-validity', '--print-invalid', hello.out])
      if (invalid.trim() === '') await chroot.run('nix-store', ['--delete', hello.out])
    }
    await forget()
    const started = performance.now()
    await chroot.run('nix-store', ['--realise', hello.drv], { env })
    const ms = performance.now() - started
    await forget()
    return ms
  } finally {
    await chroot.release()
  }
}
