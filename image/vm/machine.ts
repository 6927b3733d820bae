/**
 * The riscv64 machine as a whole VM: Debian's kernel under qemu-system-riscv64, no network
 * device, the root file system `npm run image` makes (through a qcow2 overlay, so the image
 * itself is never written), and the back end inside it with Nix's sandbox on. The rollup HTTP
 * API reaches the back end over a virtio-serial port: the guest relay serves it on the VM's
 * loopback (image/vm/relay/guest.ts) and the host relay performs each request against the dev
 * node (image/vm/relay/host.ts).
 *
 *   const vm = await startMachine({ ext2, workDir, rollupUrl: 'http://127.0.0.1:5004/<session>', log })
 *   await vm.exited                 // the VM powers off when its back end exits
 *
 * Not yet: rolling the VM back on a rejected input (image/vm/NOTES.md, section 6: QEMU 7.2's
 * loadvm hangs the guest; a disk overlay per input and a reboot on reject is the plan).
 */
import { createHash } from 'node:crypto'
import { access, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exec } from '../../scripts/lib/exec.ts'
import { spawnTied } from '../../scripts/devnode/processes.ts'
import { readVmLock, vmCache } from './debs.ts'
import { buildInitramfs, initScript, kernelFiles } from './initramfs.ts'
import { qemuArgs } from './qemu.ts'
import { connectRelay } from './relay/host.ts'

export type VmAssets = { kernel: string; initrd: string }

/**
 * The kernel (from the pinned .deb) and the initramfs, made once and kept in the VM cache under a
 * name that hashes the lock and /init: the same inputs give the same files.
 */
export async function vmAssets(): Promise<VmAssets> {
  const lock = await readVmLock()
  const kernel = (await kernelFiles(lock)).image
  const key = createHash('sha256').update(JSON.stringify(lock)).update(initScript).digest('hex').slice(0, 16)
  const initrd = join(vmCache, 'assets', `initramfs-${key}.cpio`)
  if (!(await access(initrd).then(() => true, () => false))) {
    await mkdir(join(vmCache, 'assets'), { recursive: true })
    await writeFile(`${initrd}.new`, await buildInitramfs(lock))
    await exec('mv', [`${initrd}.new`, initrd])
  }
  return { kernel, initrd }
}

export type MachineOptions = {
  /** The machine's root file system (ext2), read through an overlay. */
  ext2: string
  /** Where the overlay and the port's socket go (made if missing). */
  workDir: string
  /** The rollup HTTP API on the host, with the back end's session prefix. */
  rollupUrl: string
  /** Guest RAM (default 2G: Nix and a build). */
  memory?: string
  /** One clock for every run: `-icount shift=0,sleep=off` and an RTC at 2000-01-01 (see NOTES.md, section 5). */
  deterministic?: boolean
  /** Settings for the back end, passed on the kernel command line (`cartenix.env.NAME=VALUE`). */
  backendEnv?: Record<string, string>
  log: (line: string) => void
}

export type RunningMachine = { exited: Promise<number | null>; stop: () => Promise<void> }

export async function startMachine(options: MachineOptions): Promise<RunningMachine> {
  const { log } = options
  const assets = await vmAssets()
  await mkdir(options.workDir, { recursive: true })
  const overlay = join(options.workDir, 'root.qcow2')
  const socketPath = join(options.workDir, 'rollup.sock')
  await rm(overlay, { force: true })
  await rm(socketPath, { force: true })
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', options.ext2, overlay])
  const env = Object.entries(options.backendEnv ?? {}).map(([name, value]) => {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name) || /\s/.test(value) || value === '') throw new Error(`Cannot pass ${name}=${JSON.stringify(value)} to the VM's back end on the kernel command line`)
    return `cartenix.env.${name}=${value}`
  })
  const args = qemuArgs({
    kernel: assets.kernel,
    initrd: assets.initrd,
    memory: options.memory ?? '2G',
    append: ['quiet', 'cartenix.init=root', 'cartenix.rootflags=rw', 'cartenix.rootinit=/opt/cartenix/vm-init', ...env].join(' '),
    disk: { file: overlay, format: 'qcow2' },
    portSocket: socketPath,
    ...(options.deterministic ? { icount: '0', rtcBase: '2000-01-01' } : {}),
  })
  // QEMU dies with whoever started it, even by SIGKILL: no VM outlives its runner.
  const child = spawnTied('qemu-system-riscv64', args, { stdio: ['ignore', 'pipe', 'pipe'], deathSignal: 'KILL' })
  const relay = connectRelay({ socketPath, baseUrl: options.rollupUrl, log: (line) => log(`vm relay: ${line}`) })
  let pending = ''
  const forward = (chunk: Buffer) => {
    pending += chunk.toString('utf8')
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl).replace(/\r$/, '')
      pending = pending.slice(nl + 1)
      if (line.trim()) log(`vm: ${line}`)
    }
  }
  child.stdout?.on('data', forward)
  child.stderr?.on('data', forward)
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      void relay.stop().finally(() => resolve(code))
    })
  })
  return {
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}
