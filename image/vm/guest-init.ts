/**
 * PID 1 of the riscv64 VM on the machine's own root file system (/opt/cartenix/vm-init), which
 * the initramfs switches to (`cartenix.init=root cartenix.rootinit=/opt/cartenix/vm-init`).
 *
 * It must be PID 1 on the real root, not a chroot: the kernel refuses a chrooted process a new
 * user namespace, and Nix's sandbox needs one (image/vm/NOTES.md, section 8). The tree is
 * Debian's essential variant, without `mount` or `ip`: busybox-static does those.
 *
 * Settings for the back end come on the kernel command line as `cartenix.env.NAME=VALUE` (the
 * host runner passes the CARTENIX_* variables it was given); there is no other way in, as the
 * VM has no network and no shared directory.
 */
export const vmInit = `#!/usr/bin/busybox sh
export PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME=/root CARTENIX_ROOT=/opt/cartenix
# Results survive the reboot that rolls a rejected input back (image/vm/rollback.ts).
export CARTENIX_STATE_DIR=/var/lib/cartenix
bb=/usr/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mkdir -p /dev/pts /dev/shm
$bb mount -t devpts devpts /dev/pts
$bb mount -t tmpfs tmpfs /dev/shm
$bb mount -t tmpfs tmpfs /tmp
$bb ip link set lo up
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    cartenix.env.*=*) name="\${arg#cartenix.env.}"; export "\${name%%=*}=\${name#*=}" ;;
  esac
done
echo "cartenix-vm: PID 1 on the machine's root at $(cut -d' ' -f1 /proc/uptime) s"
node /opt/cartenix/relay.mjs --port /dev/virtio-ports/cartenix.rollup --listen-port 5004 &
# The back end retries until the relay answers; nothing to wait for here.
ROLLUP_HTTP_SERVER_URL=http://127.0.0.1:5004 node /opt/cartenix/backend.mjs
echo "cartenix-vm: the back end exited with status $?"
$bb sync
$bb poweroff -f
`
