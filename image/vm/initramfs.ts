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

/** The probe run by `cartenix.init=probe`: prints facts, checks namespaces and the virtio port. */
export const probeScript = `
say() { echo "cartenix: $*"; }
say "uname $(uname -a)"
say "busybox applets: $(busybox --list | grep -c .); unshare=$(busybox --list | grep -cx unshare) setpriv=$(busybox --list | grep -cx setpriv) nc=$(busybox --list | grep -cx nc) socat=$(busybox --list | grep -cx socat) httpd=$(busybox --list | grep -cx httpd)"
say "date $(date -u +%Y-%m-%dT%H:%M:%SZ) uptime $(cut -d' ' -f1 /proc/uptime)"
say "cpus $(grep -c ^processor /proc/cpuinfo) mem $(grep MemTotal /proc/meminfo | tr -s ' ')"
say "rtc $(cat /sys/class/rtc/rtc0/name 2>/dev/null) $(cat /sys/class/rtc/rtc0/date 2>/dev/null) $(cat /sys/class/rtc/rtc0/time 2>/dev/null)"
say "chosen: $(ls /sys/firmware/devicetree/base/chosen | tr '\\n' ' ') urandom16: $(head -c 16 /dev/urandom | md5sum | cut -c1-12)"
say "clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
say "ports $(ls /dev/virtio-ports 2>/dev/null | tr '\\n' ' ') vport: $(ls /dev | grep vport | tr '\\n' ' ')"
say "blk $(ls /sys/block | tr '\\n' ' ')"
say "userns sysctl max_user_namespaces=$(cat /proc/sys/user/max_user_namespaces) unprivileged_userns_clone=$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null)"
if unshare -Urn true; then say "unshare -Urn as root: ok"; else say "unshare -Urn as root: FAILED"; fi
if unshare -m -p -n -u -i -f --mount-proc true; then say "unshare -mpnui (Nix sandbox's set) as root: ok"; else say "unshare -mpnui: FAILED"; fi
echo 'nobody:x:65534:65534::/:/bin/sh' >> /etc/passwd
if su -s /bin/sh nobody -c 'unshare -Urn true'; then say "unshare -Urn as uid 65534: ok"; else say "unshare -Urn as uid 65534: FAILED"; fi
if unshare -U -r -m -p -n -u -i -f --mount-proc sh -c 'mount -t tmpfs t /mnt && echo x > /mnt/y && [ "$(cat /mnt/y)" = x ]'; then say "userns+mount tmpfs inside: ok"; else say "userns+mount: FAILED"; fi
if [ -b /dev/vda ]; then
  t0=$(cut -d' ' -f1 /proc/uptime)
  if mount -t ext2 -o ro /dev/vda /mnt; then
    say "vda mounted as $(grep ' /mnt ' /proc/mounts) in $(cut -d' ' -f1 /proc/uptime) (from $t0)"
    ls /mnt | head -20 | tr '\\n' ' '; echo
    [ -x /mnt/cartenix-probe.sh ] && sh /mnt/cartenix-probe.sh
    umount /mnt
  else
    say "mount /dev/vda FAILED"
  fi
fi
ip link set lo up && ip addr add 127.0.0.1/8 dev lo 2>/dev/null
httpd -p 127.0.0.1:8080 -h /etc/cartenix
say "loopback: $(ip -o addr show lo | tr -s ' ' | cut -d' ' -f2-4 | tr '\\n' ' ') wget http://127.0.0.1:8080/probe -> $(wget -q -O - http://127.0.0.1:8080/probe | grep -c .) lines"
port=/dev/virtio-ports/cartenix.rollup
if [ -e $port ]; then
  exec 3<>$port
  echo "hello from guest" >&3
  read -r line <&3
  say "port read: $line"
  t0=$(cut -d' ' -f1 /proc/uptime)
  sum=$(head -c 2097152 <&3 | md5sum | cut -d' ' -f1)
  t1=$(cut -d' ' -f1 /proc/uptime)
  echo "md5 $sum" >&3
  say "port 2MiB in: md5 $sum from $t0 to $t1"
  head -c 2097152 /dev/zero >&3
  read -r line <&3
  say "port 2MiB out: host says $line at $(cut -d' ' -f1 /proc/uptime)"
  exec 3>&-
fi
say "probe done at $(cut -d' ' -f1 /proc/uptime)s"
`

/** The decompressed bytes of an .xz file (xz-utils on the host). */
async function xzDecompress(path: string): Promise<Buffer> {
  const { stdout } = await promisify(execFile)('xz', ['-dc', path], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 })
  return stdout
}

/** `cartenix.init=bench`: CPU-bound work timed by the host from the console markers. */
export const benchScript = `
say() { echo "cartenix: $*"; }
say "bench start at $(cut -d' ' -f1 /proc/uptime)"
head -c 67108864 /dev/zero | sha256sum > /dev/null
say "bench sha256 of 64 MiB done at $(cut -d' ' -f1 /proc/uptime)"
i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done
say "bench 100000 shell loop turns done at $(cut -d' ' -f1 /proc/uptime)"
`

/** `cartenix.init=snap`: fills RAM (cartenix.fill=MiB of non-zero pages), then ticks once a second,
 * each tick also written to /dev/vda (mounted rw), so that a loadvm shows up as a tick repeated. */
export const snapScript = `
say() { echo "cartenix: $*"; }
mb=0
for arg in $(cat /proc/cmdline); do case "$arg" in cartenix.fill=*) mb="\${arg#cartenix.fill=}" ;; esac; done
mount -t ext2 /dev/vda /mnt || say "mount rw FAILED"
mkdir -p /fill && mount -t tmpfs -o size=$((mb + 16))m tmpfs /fill
yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx | head -c 1048576 > /tmp/m
i=0; while [ $i -lt $mb ]; do cat /tmp/m; i=$((i + 1)); done > /fill/f
say "filled $mb MiB at $(cut -d' ' -f1 /proc/uptime): $(grep -E 'MemFree|Shmem:' /proc/meminfo | tr -s ' ' | tr '\\n' ' ')"
i=0
while true; do
  i=$((i + 1))
  echo $i > /mnt/counter
  sync
  say "tick $i counter $(cat /mnt/counter) at $(cut -d' ' -f1 /proc/uptime)"
  sleep 1
done
`

export async function buildInitramfs(lock: VmLock, extra: Record<string, string> = {}): Promise<Buffer> {
  const kernel = await kernelFiles(lock)
  const busyboxPkg = lock.packages.find((p) => p.package === 'busybox-static')
  if (!busyboxPkg) throw new Error('No busybox-static in image/vm/lock.json')
  const busybox = join(await unpackPinned(lock, 'busybox-static'), 'usr/bin/busybox')
  const entries: CpioEntry[] = [
    { type: 'file', path: 'bin/busybox', data: await readFile(busybox), mode: 0o755 },
    { type: 'file', path: 'init', data: initScript, mode: 0o755 },
    { type: 'file', path: 'etc/cartenix/probe', data: probeScript, mode: 0o644 },
    { type: 'file', path: 'etc/cartenix/bench', data: benchScript, mode: 0o644 },
    { type: 'file', path: 'etc/cartenix/snap', data: snapScript, mode: 0o644 },
    { type: 'char', path: 'dev/console', major: 5, minor: 1, mode: 0o600 },
    { type: 'dir', path: 'root', mode: 0o700 },
  ]
  for (const [name, text] of Object.entries(extra)) entries.push({ type: 'file', path: `etc/cartenix/${name}`, data: text, mode: 0o644 })
  const names: string[] = []
  for (const m of initramfsModules) {
    const name = m.split('/').pop()!.replace(/\.xz$/, '')
    entries.push({ type: 'file', path: `lib/modules/${name}`, data: await xzDecompress(join(kernel.modulesDir, m)) })
    names.push(name)
  }
  entries.push({ type: 'file', path: 'lib/modules/load', data: `${names.join('\n')}\n` })
  return writeCpio(entries)
}
