/**
 * Command lines for qemu-system-riscv64 (Debian bookworm's qemu-system-misc 7.2) running the
 * VM: `virt` machine, OpenSBI from `-bios`, the Debian kernel with `-kernel`, an initramfs, no
 * network device, the serial console on stdio, and optionally a disk (virtio-blk), a
 * virtio-serial port named `cartenix.rollup` on a host Unix socket, a QMP socket, and the
 * determinism settings (one vCPU always; `-icount`, a fixed RTC, a fixed seed).
 */

export type VmOptions = {
  kernel: string
  initrd: string
  /** Kernel command line after `console=ttyS0`. */
  append?: string
  memory?: string
  /** `-cpu`, e.g. `rv64,sstc=off` (see NOTES.md: QEMU 7.2 loses the Sstc timer on loadvm). */
  cpu?: string
  /** `default` (QEMU's bundled OpenSBI) or a path (e.g. the opensbi package's fw_dynamic.bin). */
  bios?: string
  /** virtio-pci (drivers built into Debian's kernel) or virtio-mmio (needs virtio_mmio.ko). */
  transport?: 'pci' | 'mmio'
  disk?: { file: string; format: 'raw' | 'qcow2'; readonly?: boolean; snapshot?: boolean }
  /** Host path of the Unix socket that QEMU listens on for the virtio-serial port. */
  portSocket?: string
  qmpSocket?: string
  /** `-icount shift=<icount>,sleep=off` (or `shift=auto`), and `-rtc base=<rtcBase>,clock=vm`. */
  icount?: string
  rtcBase?: string
  /**
   * `-seed <n>`: QEMU's own randomness for the guest from a fixed seed, chiefly the `rng-seed` it
   * puts in the device tree's /chosen, which Linux mixes into its random pool at boot.
   */
  seed?: number
  /** `-loadvm <tag>`: start from a snapshot stored in the (qcow2) disk. */
  loadvm?: string
}

export const portName = 'cartenix.rollup'

export function qemuArgs(o: VmOptions): string[] {
  const dev = (kind: 'blk' | 'serial') => `virtio-${kind}-${o.transport === 'mmio' ? 'device' : 'pci'}`
  const args = [
    '-machine', 'virt',
    ...(o.cpu ? ['-cpu', o.cpu] : []),
    '-smp', '1',
    '-m', o.memory ?? '1G',
    '-bios', o.bios ?? 'default',
    '-kernel', o.kernel,
    '-initrd', o.initrd,
    '-append', `console=ttyS0 ${o.append ?? ''}`.trim(),
    '-nic', 'none',
    '-display', 'none',
    '-serial', 'stdio',
    '-monitor', 'none',
    '-no-reboot',
  ]
  if (o.disk) {
    const { file, format, readonly, snapshot } = o.disk
    args.push('-drive', `file=${file},format=${format},if=none,id=d0${readonly ? ',readonly=on' : ''}${snapshot ? ',snapshot=on' : ''}`)
    args.push('-device', `${dev('blk')},drive=d0`)
  }
  if (o.portSocket) {
    args.push('-device', `${dev('serial')},id=vs0`)
    args.push('-chardev', `socket,path=${o.portSocket},server=on,wait=off,id=c0`)
    args.push('-device', `virtserialport,bus=vs0.0,chardev=c0,name=${portName}`)
  }
  if (o.qmpSocket) args.push('-qmp', `unix:${o.qmpSocket},server=on,wait=off`)
  if (o.icount) args.push('-icount', o.icount === 'auto' ? 'shift=auto' : `shift=${o.icount},sleep=off`)
  if (o.rtcBase) args.push('-rtc', `base=${o.rtcBase},clock=vm`)
  if (o.seed !== undefined) args.push('-seed', String(o.seed))
  if (o.loadvm) args.push('-loadvm', o.loadvm)
  return args
}
