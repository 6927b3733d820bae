/**
 * The VM's kernel and a minimal initramfs, both made from the pinned .debs of `lock.json` only:
 *
 * - the kernel is `/boot/vmlinux-<version>` of linux-image-<version>, which despite its name is
 *   the flat RISC-V `Image` (an EFI PE with the "RISCV" / "RSC\x05" boot header), taken as is;
 *   QEMU loads it with `-kernel` after OpenSBI's fw_dynamic;
 * - the initramfs is an uncompressed newc cpio written by `cpio.ts` (sorted, mtime 0, uid 0):
 *   busybox-static's `/usr/bin/busybox` as `/bin/busybox`, the few modules the VM needs before
 *   its root can be mounted (decompressed from .ko.xz with `xz -dc`, whose output is the
 *   module's bytes whatever the xz version), the list of them in load order, and `/init`.
 *
 * Debian's kernel builds virtio_blk, virtio_mmio, ext4 (which also mounts ext2:
 * CONFIG_EXT4_USE_FOR_EXT2=y, CONFIG_EXT2_FS unset) and its helpers as modules; virtio_pci,
 * virtio_console, the 8250 serial console, the goldfish RTC, namespaces and cgroups are built in.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { type CpioEntry, writeCpio } from './cpio.ts'
import { type VmLock, unpackPinned } from './lock.ts'

/** Modules in load order (each after what it depends on; from `depends=` / `softdep=` in .modinfo). */
export const initramfsModules = [
  'kernel/lib/crc16.ko.xz',
  'kernel/fs/mbcache.ko.xz',
  'kernel/fs/jbd2/jbd2.ko.xz',
  // ext4 has softdep=pre: crypto-crc32c (its metadata checksums); crc32c_generic provides it.
  'kernel/crypto/crc32c_generic.ko.xz',
  'kernel/fs/ext4/ext4.ko.xz',
  'kernel/drivers/block/virtio_blk.ko.xz',
  // Only for `-device virtio-*-device` (virtio-mmio); the -pci devices need no module.
  'kernel/drivers/virtio/virtio_mmio.ko.xz',
] as const

export type KernelFiles = { version: string; image: string; config: string; modulesDir: string }

export async function kernelFiles(lock: VmLock): Promise<KernelFiles> {
  const pkg = lock.packages.find((p) => /^linux-image-\d/.test(p.package))
  if (!pkg) throw new Error('No linux-image-<version> in image/vm/lock.json')
  const version = pkg.package.replace(/^linux-image-/, '')
  const dir = await unpackPinned(lock, pkg.package)
  return {
    version,
    image: join(dir, 'boot', `vmlinux-${version}`),
    config: join(dir, 'boot', `config-${version}`),
    modulesDir: join(dir, 'usr/lib/modules', version),
  }
}

/** `/init`: mounts the pseudo file systems, loads the modules, names the virtio ports, then runs
 * what `cartenix.init=` on the kernel command line says (a script in the initramfs, or `root`
 * to mount /dev/vda (`cartenix.rootflags=`, ro by default) and switch_root to
 * `cartenix.rootinit=`, /sbin/init by default). */
export const initScript = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /mnt /newroot /usr/bin /sbin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
for m in $(cat /lib/modules/load); do
  insmod "/lib/modules/$m" || echo "cartenix: insmod $m failed"
done
mkdir -p /dev/virtio-ports
# A port's name comes in a control message after the port appears (late with virtio-mmio,
# whose driver is a module): wait up to 5 s for every name.
tries=0
while [ $tries -lt 50 ]; do
  unnamed=0
  for p in /sys/class/virtio-ports/*; do [ -e "$p/name" ] && [ -z "$(cat "$p/name")" ] && unnamed=1; done
  [ $unnamed = 0 ] && break
  tries=$((tries + 1)); sleep 0.1
done
for p in /sys/class/virtio-ports/*; do
  [ -e "$p/name" ] && ln -sf "/dev/\${p##*/}" "/dev/virtio-ports/$(cat "$p/name")"
done
echo "cartenix: init up at $(cut -d' ' -f1 /proc/uptime)s"
what=shell
rootinit=/sbin/init
rootflags=ro
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    cartenix.init=*) what="\${arg#cartenix.init=}" ;;
    cartenix.rootinit=*) rootinit="\${arg#cartenix.rootinit=}" ;;
    cartenix.rootflags=*) rootflags="\${arg#cartenix.rootflags=}" ;;
  esac
done
case "$what" in
  shell) exec sh ;;
  root)
    mount -t ext4 -o "$rootflags" /dev/vda /newroot || { echo "cartenix: cannot mount /dev/vda"; exec sh; }
    mount --move /dev /newroot/dev 2>/dev/null
    umount /proc /sys /tmp
    exec switch_root /newroot "$rootinit"
    ;;
  *) sh "/etc/cartenix/$what"; echo "cartenix: $what exited $?"; poweroff -f ;;
esac
`

/** The decompressed bytes of an .xz file (xz-utils on the host). */
async function xzDecompress(path: string): Promise<Buffer> {
  const { stdout } = await promisify(execFile)('xz', ['-dc', path], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 })
  return stdout
}

/** The initramfs: busybox, /init and the modules; nothing else (the template commits to exactly these). */
export async function buildInitramfs(lock: VmLock): Promise<Buffer> {
  const kernel = await kernelFiles(lock)
  const busyboxPkg = lock.packages.find((p) => p.package === 'busybox-static')
  if (!busyboxPkg) throw new Error('No busybox-static in image/vm/lock.json')
  const busybox = join(await unpackPinned(lock, 'busybox-static'), 'usr/bin/busybox')
  const entries: CpioEntry[] = [
    { type: 'file', path: 'bin/busybox', data: await readFile(busybox), mode: 0o755 },
    { type: 'file', path: 'init', data: initScript, mode: 0o755 },
    { type: 'char', path: 'dev/console', major: 5, minor: 1, mode: 0o600 },
    { type: 'dir', path: 'root', mode: 0o700 },
  ]
  const names: string[] = []
  for (const m of initramfsModules) {
    const name = m.split('/').pop()!.replace(/\.xz$/, '')
    entries.push({ type: 'file', path: `lib/modules/${name}`, data: await xzDecompress(join(kernel.modulesDir, m)) })
    names.push(name)
  }
  entries.push({ type: 'file', path: 'lib/modules/load', data: `${names.join('\n')}\n` })
  return writeCpio(entries)
}
