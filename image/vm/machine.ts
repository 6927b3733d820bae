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
 * A rejected input leaves no trace: each input's writes go to an overlay that is merged into the
 * machine's disk when the input is accepted and dropped, with a reboot, when it is rejected
 * (rollback.ts).
 */
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exec } from '../../dapp/lib/exec.ts'
import { spawnTied } from '../host/processes.ts'
import { readVmLock, vmArtefactsDir } from './lock.ts'
import { imageSha256 } from '../rootfs/build.ts'
import { buildInitramfs, initScript, kernelFiles } from './initramfs.ts'
import { qemuArgs } from './qemu.ts'
import { connectRelay, type RelayConnection } from './relay/host.ts'
import { Qmp } from './qmp.ts'
import { createInputGate } from './rollback.ts'

export type VmAssets = { kernel: string; initrd: string }

/**
 * What `deterministic` adds to QEMU's command line. The clock starts at a fixed date later than
 * any source's files: a configure script refuses a clock older than the files it unpacked
 * ("newly created file is older than distributed files"), which a date in 2000 was for hello.
 */
export const deterministicSettings = { icount: '0', rtcBase: '2030-01-01', seed: 0 } as const

/**
 * The kernel (from the pinned .deb) and the initramfs, made once and kept in the VM's part of the
 * artefacts directory under a name that hashes the lock and /init: the same inputs give the same
 * files.
 */
export async function vmAssets(): Promise<VmAssets> {
  const lock = await readVmLock()
  const kernel = (await kernelFiles(lock)).image
  const key = createHash('sha256').update(JSON.stringify(lock)).update(initScript).digest('hex').slice(0, 16)
  const initrd = join(vmArtefactsDir, 'assets', `initramfs-${key}.cpio`)
  if (!(await access(initrd).then(() => true, () => false))) {
    await mkdir(join(vmArtefactsDir, 'assets'), { recursive: true })
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
  /** One clock and one seed for every run: `-icount shift=0,sleep=off`, an RTC at 2030-01-01, `-seed 0` (NOTES.md, sections 5 and 11). */
  deterministic?: boolean
  /** Settings for the back end, passed on the kernel command line (`cartenix.env.NAME=VALUE`). */
  backendEnv?: Record<string, string>
  log: (line: string) => void
}

export type RunningMachine = {
  /** The VM's status once it powers off for good (its back end exited); reboots for a rollback do not count. */
  exited: Promise<number | null>
  stop: () => Promise<void>
}

/**
 * Makes the running disk's top layer part of `base` and puts a new, empty layer `newTop` on it:
 * an active block-commit (the layer's clusters go into `base`, which becomes the top), then an
 * external snapshot. What an accepted input's writes go through (rollback.ts).
 */
export async function commitLayer(qmp: Qmp, base: string, newTop: string): Promise<void> {
  const ready = qmp.nextEvent('BLOCK_JOB_READY', (e) => e.data?.device === 'accept')
  const completed = qmp.nextEvent('BLOCK_JOB_COMPLETED', (e) => e.data?.device === 'accept')
  await qmp.run('block-commit', { device: 'd0', 'job-id': 'accept', base })
  await ready
  await qmp.run('job-complete', { id: 'accept' })
  const done = await completed
  if (done.data?.error) throw new Error(`committing the input's writes failed: ${String(done.data.error)}`)
  await qmp.run('blockdev-snapshot-sync', { device: 'd0', 'snapshot-file': newTop, format: 'qcow2' })
}

/**
 * The disk to boot on: the `base.qcow2` an earlier run left in `workDir`, when it was made over
 * the same image (by the image's sha256: the image is made byte for byte, so a rebuild at the
 * same checkout keeps it), or a new one over the image. What an earlier run had in flight
 * (its top layer, never committed) is dropped, as a rollback would.
 */
async function baseDisk(ext2: string, workDir: string, log: (line: string) => void): Promise<string> {
  const base = join(workDir, 'base.qcow2')
  const stampPath = join(workDir, 'base.image')
  for (const entry of await readdir(workDir)) {
    if (/^layer-\d+\.qcow2$|\.sock$/.test(entry)) await rm(join(workDir, entry), { force: true })
  }
  const image = `${ext2} sha256 ${await imageSha256(ext2)}\n`
  const stamp = await readFile(stampPath, 'utf8').catch(() => undefined)
  if (stamp === image && (await access(base).then(() => true, () => false))) {
    log(`vm: resuming on the disk its last run committed (${base})`)
    return base
  }
  if (stamp !== undefined) log(`vm: the image is not the one ${base} was made over: starting from the image`)
  await rm(base, { force: true })
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', ext2, base])
  await writeFile(stampPath, image)
  return base
}

/** One run of QEMU on the current top overlay. */
type Boot = { child: ChildProcess; qmp: Promise<Qmp>; relay: RelayConnection; exit: Promise<number | null>; top: string }

export async function startMachine(options: MachineOptions): Promise<RunningMachine> {
  const { log, workDir } = options
  const assets = await vmAssets()
  await mkdir(workDir, { recursive: true })
  // base.qcow2: the machine after the last accepted input; layer-N.qcow2 on top: the input in flight.
  const base = await baseDisk(options.ext2, workDir, log)
  const env = Object.entries(options.backendEnv ?? {}).map(([name, value]) => {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name) || /\s/.test(value) || value === '') throw new Error(`Cannot pass ${name}=${JSON.stringify(value)} to the VM's back end on the kernel command line`)
    return `cartenix.env.${name}=${value}`
  })
  let layers = 0
  const nextLayer = () => join(workDir, `layer-${++layers}.qcow2`)
  let boots = 0
  let stopping = false
  let boot: Boot | undefined
  let resolveExited!: (code: number | null) => void
  const exited = new Promise<number | null>((resolve) => (resolveExited = resolve))

  const gate = createInputGate({
    log,
    async commit() {
      const current = boot
      if (!current) throw new Error('no VM to commit')
      const started = Date.now()
      const top = nextLayer()
      await commitLayer(await current.qmp, base, top)
      await rm(current.top, { force: true })
      current.top = top
      log(`vm: input committed to the disk in ${Date.now() - started} ms`)
    },
    rollBack(reason, verdict) {
      const old = boot
      log(`vm: ${reason}: rolling the machine back (reboot on the last accepted disk)`)
      void (async () => {
        if (old) await halt(old)
        if (stopping) return
        boot = await start()
        gate.resume(verdict)
      })().catch((error: unknown) => {
        log(`vm: the rollback failed: ${(error as Error).message}`)
        resolveExited(1)
      })
    },
  })

  async function start(): Promise<Boot> {
    const top = nextLayer()
    const n = ++boots
    const portSocket = join(workDir, `rollup-${n}.sock`)
    const qmpSocket = join(workDir, `qmp-${n}.sock`)
    await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, top])
    const args = qemuArgs({
      kernel: assets.kernel,
      initrd: assets.initrd,
      memory: options.memory ?? '2G',
      append: ['quiet', 'cartenix.init=root', 'cartenix.rootflags=rw', 'cartenix.rootinit=/opt/cartenix/vm-init', ...env].join(' '),
      disk: { file: top, format: 'qcow2' },
      portSocket,
      qmpSocket,
      ...(options.deterministic ? deterministicSettings : {}),
    })
    // QEMU dies with whoever started it, even by SIGKILL: no VM outlives its runner.
    const child = spawnTied('qemu-system-riscv64', args, { stdio: ['ignore', 'pipe', 'pipe'], deathSignal: 'KILL' })
    const relay = connectRelay({
      socketPath: portSocket,
      baseUrl: options.rollupUrl,
      log: (line) => log(`vm relay: ${line}`),
      beforeRequest: (request) => gate.beforeRequest(request),
      afterResponse: (request, answer) => gate.afterResponse(request, answer),
    })
    child.stdout?.on('data', consoleLines(log))
    child.stderr?.on('data', consoleLines(log))
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const qmp = Qmp.open(qmpSocket)
    qmp.catch(() => {})
    const started: Boot = { child, qmp, relay, exit, top }
    void exit.then(async (code) => {
      await relay.stop()
      // The VM powered off by itself (its back end exited), or was stopped: that is the machine's end.
      if (boot === started) resolveExited(code)
    })
    return started
  }

  /** Stops a VM for good: its relay first (nothing more reaches the node), then QEMU. */
  async function halt(old: Boot): Promise<void> {
    if (boot === old) boot = undefined
    await old.relay.stop()
    if (old.child.exitCode === null && old.child.signalCode === null) old.child.kill('SIGKILL')
    await old.exit
    ;(await old.qmp.catch(() => undefined))?.close()
    await rm(old.top, { force: true })
  }

  boot = await start()
  return {
    exited,
    async stop() {
      stopping = true
      const current = boot
      if (current && current.child.exitCode === null && current.child.signalCode === null) current.child.kill('SIGTERM')
      if (!current) resolveExited(null)
      await exited
    },
  }
}

/** QEMU's output (the guest's console) to `log`, line by line. */
function consoleLines(log: (line: string) => void): (chunk: Buffer) => void {
  let pending = ''
  return (chunk) => {
    pending += chunk.toString('utf8')
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl).replace(/\r$/, '')
      pending = pending.slice(nl + 1)
      if (line.trim()) log(`vm: ${line}`)
    }
  }
}
