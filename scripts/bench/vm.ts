/**
 * The `riscv64` section's VM half: the riscv64 machine as a whole VM (image/vm/), twice in one run,
 * without and with the determinism settings (CARTENIX_VM_DETERMINISTIC:
 * `-icount shift=0,sleep=off`, a fixed RTC). Each time: a devnet with the VM as its back end, the
 * boot (QEMU started to the back end serving), GNU hello built from scratch through the rollup
 * (addInput receipt to notice), QEMU's peak resident memory, and the disk the VM wrote (its qcow2
 * layers).
 */
import { readFile, readdir, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ext2Path } from '../../image/rootfs/build.ts'
import { exec } from '../../dapp/lib/exec.ts'
import { startBenchChain } from './chain.ts'

export type VmRun = {
  deterministic: boolean
  /** QEMU started (the host relay's first try) to the back end serving inside. */
  bootMs: number
  /** addInput receipt to hello's notice. */
  helloMs: number
  /** QEMU's peak resident set (VmHWM) at the end of the run. */
  peakRssBytes: number
  /** The qcow2 layers over the image: what the VM wrote. */
  writtenBytes: number
  outPath: string
  narHash: string
}

const hour = 60 * 60_000

export async function benchVmRun(deterministic: boolean, log: (line: string) => void): Promise<VmRun> {
  let spawnedAt: number | undefined
  let servingAt: number | undefined
  const chain = await startBenchChain({
    backend: true,
    machine: 'riscv64',
    backendEnv: deterministic ? { CARTENIX_VM_DETERMINISTIC: '1' } : {},
    onLog: (line) => {
      if (spawnedAt === undefined && /vm relay: (cannot connect|connected)/.test(line)) spawnedAt = performance.now()
      if (servingAt === undefined && /\[cartenix\] serving /.test(line)) servingAt = performance.now()
    },
  })
  try {
    for (const started = performance.now(); servingAt === undefined; ) {
      if (performance.now() - started > 10 * 60_000) throw new Error(`The VM's back end did not start within 10 min:\n${chain.backendLog().join('\n')}`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const bootMs = servingAt - (spawnedAt ?? servingAt)
    log(`VM${deterministic ? ' (deterministic)' : ''}: booted to the back end in ${(bootMs / 1000).toFixed(1)} s; building hello`)
    const sent = await chain.send({ attr: 'hello' })
    const t0 = performance.now()
    const { notice, reports } = await chain.result(sent.inputIndex, { pollIntervalMs: 1000, timeoutMs: 3 * hour })
    const helloMs = performance.now() - t0
    const [out] = notice.result.outputs
    if (!notice.result.success || !out) {
      const failed = reports.map(({ report }) => (report?.type === 'build-failed' ? report : undefined)).find((report) => report !== undefined)
      throw new Error(`hello failed in the VM after ${(helloMs / 1000).toFixed(0)} s; the log ends:\n${failed?.logTail.slice(-1500) ?? '(no log)'}`)
    }
    const qemu = await qemuOf(process.pid)
    if (!qemu) throw new Error('No qemu-system-riscv64 below this process')
    return { deterministic, bootMs, helloMs, peakRssBytes: qemu.peakRssBytes, writtenBytes: await layersSize(qemu.disk), outPath: out.path, narHash: out.narHash }
  } finally {
    await chain.stop()
  }
}

/** Whether the image the VM boots already holds a store path (then the VM would not build it). */
export async function imageHolds(storePath: string): Promise<boolean> {
  const { stdout, stderr } = await exec('debugfs', ['-R', `stat ${storePath}`, ext2Path]).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '' }))
  return /Inode:/.test(stdout + stderr)
}

/** The qemu-system-riscv64 process below `ancestor`: its peak RSS and the disk file it runs on. */
async function qemuOf(ancestor: number): Promise<{ peakRssBytes: number; disk: string } | undefined> {
  const parents = new Map<number, number>()
  const names = new Map<number, string>()
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '')
    // pid (comm) state ppid …: comm may hold spaces, so split after its closing parenthesis.
    const close = stat.lastIndexOf(')')
    if (close < 0) continue
    names.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close))
    parents.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]))
  }
  const below = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === ancestor) return true
    return false
  }
  const pid = [...names].find(([p, name]) => name.startsWith('qemu-system-ris') && below(p))?.[0]
  if (pid === undefined) return undefined
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status)?.[1]
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')
  const disk = cmdline.map((arg) => /^file=([^,]+\.qcow2),/.exec(arg)?.[1]).find(Boolean) ?? ''
  return { peakRssBytes: Number(hwm ?? 0) * 1024, disk }
}

/** The bytes the qcow2 files next to `disk` take (the base and the layer of the input in flight). */
async function layersSize(disk: string): Promise<number> {
  if (!disk) return 0
  const dir = dirname(disk)
  let total = 0
  for (const name of await readdir(dir)) if (name.endsWith('.qcow2')) total += (await stat(`${dir}/${name}`)).blocks * 512
  return total
}
