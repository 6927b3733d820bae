/**
 * Prototype of the riscv64 back end in a real VM (qemu-system-riscv64) instead of a qemu-user
 * chroot. Findings, command lines and measured times are in NOTES.md beside this file.
 *
 *   npx tsx image/vm/probe.ts lock                # refresh lock.json from trixie (private apt)
 *   npx tsx image/vm/probe.ts build               # kernel + initramfs into the cache, with sha256
 *   npx tsx image/vm/probe.ts disk                # a tiny ext2 (mke2fs -d) for the disk tests
 *   npx tsx image/vm/probe.ts boot [options]      # boot once, run the probe, power off
 *   npx tsx image/vm/probe.ts bench [options]     # boot, time CPU-bound work, power off
 *   npx tsx image/vm/probe.ts snapshot [options] [--nudge]  # savevm / loadvm via QMP, -loadvm
 *   npx tsx image/vm/probe.ts extsnap [options]   # disk-only rollback: blockdev-snapshot-sync
 *
 * options: --init probe|shell|root|bench|snap  --rootinit PATH  --port  --disk FILE[:qcow2]
 *   --snapshot  --mmio  --icount auto|N  --rtc 2000-01-01  --seed N  --cpu rv64,sstc=off  --bios PATH
 *   --mem 1G  --fill MiB  --append '...'  --timeout SECONDS  --qmp  --loadvm TAG  --quiet
 *
 * Everything downloaded or made goes to /var/cache/cartenix/vm (CARTENIX_VM_CACHE).
 */
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rm, stat, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { exec } from '../../dapp/lib/exec.ts'
import { readVmLock, resolveVmLock, unpackPinned, vmCache, vmLockPath } from './lock.ts'
import { sha256File } from '../host/debs.ts'
import { buildInitramfs, kernelFiles } from './initramfs.ts'
import { qemuArgs } from './qemu.ts'
import { commitLayer } from './machine.ts'
import { Qmp } from './qmp.ts'

const out = join(vmCache, 'out')
const log = (line: string) => process.stdout.write(`${line}\n`)

async function build(): Promise<{ kernel: string; initrd: string }> {
  const lock = await readVmLock()
  const kernel = await kernelFiles(lock)
  await mkdir(out, { recursive: true })
  const initrd = join(out, 'initramfs.cpio')
  await writeFile(initrd, await buildInitramfs(lock))
  log(`kernel ${kernel.image} ${(await stat(kernel.image)).size} bytes sha256 ${await sha256File(kernel.image)}`)
  log(`initrd ${initrd} ${(await stat(initrd)).size} bytes sha256 ${await sha256File(initrd)}`)
  return { kernel: kernel.image, initrd }
}

/** A small ext2 image with busybox and a probe script, made by mke2fs -d (e2fsprogs). */
async function disk(): Promise<string> {
  const lock = await readVmLock()
  const tree = join(out, 'disk-tree')
  await rm(tree, { recursive: true, force: true })
  await mkdir(join(tree, 'bin'), { recursive: true })
  await exec('cp', [join(await unpackPinned(lock, 'busybox-static'), 'usr/bin/busybox'), join(tree, 'bin/busybox')])
  await writeFile(join(tree, 'cartenix-probe.sh'), 'echo "cartenix: hello from the ext2 disk"\n', { mode: 0o755 })
  // Run as PID 1 by `--init root --rootinit /init-test` (switch_root from the initramfs).
  await mkdir(join(tree, 'proc'))
  await writeFile(
    join(tree, 'init-test'),
    '#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\n/bin/busybox echo "cartenix: PID $$ on the ext2 root: $(/bin/busybox grep \' / \' /proc/mounts)"\n/bin/busybox poweroff -f\n',
    { mode: 0o755 },
  )
  const file = join(out, 'disk.ext2')
  await rm(file, { force: true })
  await exec('mke2fs', ['-q', '-t', 'ext2', '-d', tree, '-E', 'root_owner=0:0', '-U', 'clear', '-m', '0', file, '16M'], {
    env: { ...process.env, E2FSPROGS_FAKE_TIME: '0' },
  })
  log(`disk ${file} sha256 ${await sha256File(file)}`)
  return file
}

/** Serves the host side of the virtio-serial probe: a line each way, then 2 MiB each way. */
function servePort(socket: string, started: number): Promise<string> {
  return new Promise((resolve) => {
    const tryConnect = (attempt: number) => {
      const s = connect(socket)
      let buf = Buffer.alloc(0)
      let stage = 0
      const payload = randomBytes(2 * 1024 * 1024)
      const md5 = createHash('md5').update(payload).digest('hex')
      let received = 0
      let t0 = 0
      s.on('error', () => {
        if (attempt < 200) setTimeout(() => tryConnect(attempt + 1), 50)
        else resolve('port: could not connect')
      })
      s.on('data', (chunk: Buffer) => {
        if (stage === 3) {
          received += chunk.length
          if (received >= payload.length) {
            log(`host: port 2MiB from guest in ${Date.now() - t0} ms`)
            s.write(`got ${received} bytes\n`)
            stage = 4
            s.end()
            resolve('port: ok')
          }
          return
        }
        buf = Buffer.concat([buf, chunk])
        const nl = buf.indexOf(10)
        if (nl < 0) return
        const line = buf.subarray(0, nl).toString()
        buf = buf.subarray(nl + 1)
        if (stage === 0) {
          log(`host: port read "${line}" at ${((Date.now() - started) / 1000).toFixed(2)}s`)
          s.write('hello from host\n')
          t0 = Date.now()
          s.write(payload)
          stage = 1
        } else if (stage === 1) {
          log(`host: port md5 ${line === `md5 ${md5}` ? 'matches' : `MISMATCH (${line} vs ${md5})`}, 2MiB to guest in ${Date.now() - t0} ms`)
          stage = 3
          t0 = Date.now()
          received = buf.length
        }
      })
    }
    tryConnect(0)
  })
}

const bootOptions = {
  init: { type: 'string', default: 'probe' },
  port: { type: 'boolean', default: false },
  disk: { type: 'string' },
  snapshot: { type: 'boolean', default: false },
  mmio: { type: 'boolean', default: false },
  icount: { type: 'string' },
  rtc: { type: 'string' },
  seed: { type: 'string' },
  bios: { type: 'string' },
  mem: { type: 'string', default: '1G' },
  cpu: { type: 'string' },
  append: { type: 'string', default: '' },
  timeout: { type: 'string', default: '300' },
  rootinit: { type: 'string' },
  qmp: { type: 'boolean', default: false },
  fill: { type: 'string', default: '0' },
  quiet: { type: 'boolean', default: false },
  loadvm: { type: 'string' },
} as const

type Running = {
  started: number
  /** Resolves with the first console line matching, and the wall time it came at (s). */
  waitFor: (pattern: RegExp) => Promise<{ line: string; at: number }>
  exited: Promise<number | null>
  qmpSocket?: string
  portSocket?: string
  kill: () => void
  /** Writes to the serial console's input (a UART receive interrupt in the guest). */
  typeOnConsole: (text: string) => void
}

async function startVm(argv: string[]): Promise<Running> {
  const { values } = parseArgs({ args: argv, options: bootOptions })
  const lock = await readVmLock()
  const kernel = (await kernelFiles(lock)).image
  const initrd = join(out, 'initramfs.cpio')
  const portSocket = values.port ? join(out, 'port.sock') : undefined
  const qmpSocket = values.qmp ? join(out, 'qmp.sock') : undefined
  for (const s of [portSocket, qmpSocket]) if (s) await rm(s, { force: true })
  const [diskFile, diskFormat] = (values.disk ?? '').split(':')
  const args = qemuArgs({
    kernel,
    initrd,
    memory: values.mem,
    cpu: values.cpu,
    bios: values.bios,
    transport: values.mmio ? 'mmio' : 'pci',
    append: [
      `cartenix.init=${values.init}`,
      values.rootinit ? `cartenix.rootinit=${values.rootinit}` : '',
      values.fill !== '0' ? `cartenix.fill=${values.fill}` : '',
      values.append,
    ].filter(Boolean).join(' '),
    disk: diskFile
      ? { file: diskFile, format: diskFormat === 'qcow2' ? 'qcow2' : 'raw', readonly: !values.snapshot && diskFormat !== 'qcow2', snapshot: values.snapshot }
      : undefined,
    portSocket,
    qmpSocket,
    icount: values.icount,
    rtcBase: values.rtc,
    seed: values.seed === undefined ? undefined : Number(values.seed),
    loadvm: values.loadvm,
  })
  log(`qemu-system-riscv64 ${args.map((a) => (/[\s']/.test(a) ? `'${a}'` : a)).join(' ')}`)
  const started = Date.now()
  const consoleLog = createWriteStream(join(out, 'console.log'))
  const child = spawn('qemu-system-riscv64', args, { stdio: ['pipe', 'pipe', 'pipe'] })
  const timer = setTimeout(() => {
    log(`timeout after ${values.timeout}s: killing qemu`)
    child.kill('SIGTERM')
  }, Number(values.timeout) * 1000)
  const watchers: { pattern: RegExp; resolve: (m: { line: string; at: number }) => void }[] = []
  let pending = ''
  let firstOutput = 0
  child.stdout.on('data', (chunk: Buffer) => {
    consoleLog.write(chunk)
    if (!firstOutput) firstOutput = Date.now()
    pending += chunk.toString('latin1')
    let nl: number
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).replace(/\r$/, '')
      pending = pending.slice(nl + 1)
      const at = (Date.now() - started) / 1000
      if (!values.quiet && /cartenix|Kernel panic|OpenSBI v|Linux version|Run \/init|Freeing unused kernel|error|fail|warn|mounted filesystem|EXT4-fs|reboot: Power down/i.test(line)) {
        log(`[${at.toFixed(2)}s] ${line}`)
      }
      for (const w of [...watchers]) {
        if (w.pattern.test(line)) {
          watchers.splice(watchers.indexOf(w), 1)
          w.resolve({ line, at })
        }
      }
    }
  })
  child.stderr.on('data', (chunk: Buffer) => log(`qemu stderr: ${chunk.toString().trim()}`))
  if (values.init === 'shell') process.stdin.pipe(child.stdin)
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (c) => {
      clearTimeout(timer)
      consoleLog.end()
      const wall = ((Date.now() - started) / 1000).toFixed(2)
      log(`qemu exited ${c} after ${wall}s wall (first output at ${((firstOutput - started) / 1000).toFixed(2)}s); console in ${join(out, 'console.log')}`)
      resolve(c)
    }),
  )
  return {
    started,
    exited,
    qmpSocket,
    portSocket,
    kill: () => child.kill('SIGTERM'),
    typeOnConsole: (text) => child.stdin.write(text),
    waitFor: (pattern) => new Promise((resolve) => watchers.push({ pattern, resolve })),
  }
}

async function boot(argv: string[]): Promise<void> {
  const vm = await startVm(argv)
  const port = vm.portSocket ? servePort(vm.portSocket, vm.started) : undefined
  await vm.exited
  if (port) log(await Promise.race([port, Promise.resolve('port: not finished')]))
}

/** Host wall time between the guest's bench markers, i.e. the cost of the emulation settings. */
async function bench(argv: string[]): Promise<void> {
  const vm = await startVm(['--init', 'bench', '--quiet', ...argv])
  const init = await vm.waitFor(/cartenix: init up/)
  const a = await vm.waitFor(/bench start/)
  const b = await vm.waitFor(/bench sha256/)
  const c = await vm.waitFor(/bench 100000/)
  await vm.exited
  log(`bench ${argv.join(' ') || '(no options)'}: init up at ${init.at.toFixed(2)}s wall; sha256 64 MiB ${(b.at - a.at).toFixed(2)}s; shell loop ${(c.at - b.at).toFixed(2)}s wall`)
  log(`  guest: ${init.line} | ${b.line} | ${c.line}`)
}

/**
 * savevm / loadvm through QMP on a writable qcow2 overlay (backed by the raw disk.ext2), with
 * the guest's RAM filled by --fill MiB: times each, and checks that the guest's ticks go back.
 */
async function snapshot(argv: string[]): Promise<void> {
  const overlay = join(out, 'overlay.qcow2')
  await rm(overlay, { force: true })
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', join(out, 'disk.ext2'), overlay])
  // --nudge: after each loadvm, type a newline on the console; the interrupt makes Linux program
  // its timer again (QEMU 7.2 does not re-arm the riscv timer from the restored state).
  const nudge = argv.includes('--nudge')
  const vm = await startVm(['--init', 'snap', '--qmp', '--disk', `${overlay}:qcow2`, '--quiet', ...argv.filter((a) => a !== '--nudge')])
  const filled = await vm.waitFor(/cartenix: filled/)
  log(`[${filled.at.toFixed(2)}s] ${filled.line}`)
  const qmp = await Qmp.open(vm.qmpSocket!)
  const tick = (n: number) => vm.waitFor(new RegExp(`cartenix: tick ${n} `))
  await tick(3)
  let t = Date.now()
  log(`savevm: "${(await qmp.hmp('savevm s1')).trim()}" in ${Date.now() - t} ms`)
  log(`qcow2 after savevm: ${(await stat(overlay)).size} bytes`)
  const next = await vm.waitFor(/cartenix: tick \d+ /)
  log(`[${next.at.toFixed(2)}s] first tick after savevm: ${next.line}`)
  const n = Number(/tick (\d+)/.exec(next.line)?.[1])
  await tick(n + 3)
  for (const round of [1, 2]) {
    const first = vm.waitFor(/cartenix: tick \d+ /)
    t = Date.now()
    log(`loadvm #${round}: "${(await qmp.hmp('loadvm s1')).trim()}" in ${Date.now() - t} ms (ticks had reached ${n + 3})`)
    if (nudge) vm.typeOnConsole('\n')
    const seen = await Promise.race([first, new Promise<undefined>((r) => setTimeout(r, 20000))])
    log(seen ? `[${seen.at.toFixed(2)}s] first tick after loadvm: ${seen.line}` : 'after loadvm: no tick within 20 s (the guest is stuck)')
    if (!seen) break
    await vm.waitFor(/cartenix: tick \d+ /)
  }
  log(`info snapshots:\n${await qmp.hmp('info snapshots')}`)
  t = Date.now()
  await qmp.execute('stop')
  await qmp.execute('cont')
  log(`stop+cont in ${Date.now() - t} ms`)
  await qmp.execute('quit')
  await vm.exited
  // A fresh QEMU started with -loadvm: no timer of the abandoned run is left to wait for.
  const vm2 = await startVm(['--init', 'snap', '--qmp', '--disk', `${overlay}:qcow2`, '--quiet', '--loadvm', 's1', ...argv.filter((a) => a !== '--nudge')])
  const restarted = Date.now()
  const seen = await Promise.race([vm2.waitFor(/cartenix: tick \d+ /), new Promise<undefined>((r) => setTimeout(r, 30000))])
  log(seen ? `fresh qemu -loadvm s1: first tick ${Date.now() - restarted} ms after spawn: ${seen.line}` : 'fresh qemu -loadvm s1: no tick within 30 s')
  if (seen) log(`  next: ${(await vm2.waitFor(/cartenix: tick \d+ /)).line}`)
  const qmp2 = await Qmp.open(vm2.qmpSocket!)
  await qmp2.execute('quit')
  await vm2.exited
}

/** After tick 6: quits the probe VM and prints /counter as each disk layer has it (debugfs on a raw copy). */
async function quitAndReadCounters(vm: { waitFor: (p: RegExp) => Promise<{ line: string }>; exited: Promise<unknown> }, qmp: Qmp, layers: readonly (readonly [string, string])[]): Promise<void> {
  const last = await vm.waitFor(/cartenix: tick 6 /)
  log(`guest: ${last.line}`)
  await qmp.execute('quit')
  await vm.exited
  for (const [name, file] of layers) {
    const raw = join(out, 'layer.raw')
    await exec('qemu-img', ['convert', '-O', 'raw', file, raw])
    const { stdout } = await exec('debugfs', ['-R', 'cat /counter', raw])
    log(`/counter ${name}: ${stdout.trim()}`)
    await rm(raw)
  }
}

/**
 * Disk-only rollback: a live external snapshot (QMP blockdev-snapshot-sync) puts a new qcow2
 * overlay on top before an "input"; dropping that overlay is the rollback. Reads /counter from
 * each layer afterwards with debugfs (e2fsprogs) on a raw copy.
 */
async function extsnap(argv: string[]): Promise<void> {
  const base = join(out, 'overlay.qcow2')
  const top = join(out, 'input-1.qcow2')
  for (const f of [base, top]) await rm(f, { force: true })
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', join(out, 'disk.ext2'), base])
  const vm = await startVm(['--init', 'snap', '--qmp', '--disk', `${base}:qcow2`, '--quiet', ...argv])
  const qmp = await Qmp.open(vm.qmpSocket!)
  await vm.waitFor(/cartenix: tick 3 /)
  const t = Date.now()
  const reply = await qmp.execute('blockdev-snapshot-sync', { device: 'd0', 'snapshot-file': top, format: 'qcow2' })
  log(`blockdev-snapshot-sync: ${JSON.stringify(reply)} in ${Date.now() - t} ms`)
  await quitAndReadCounters(vm, qmp, [['below the new overlay (rolled back)', base], ['with the new overlay (accepted)', top]])
}

/**
 * The accept/reject cycle of the VM's rollback (image/vm/rollback.ts), on the probe disk: a live
 * overlay on top of `base`, an active `block-commit` of it into `base` (the accept), a fresh
 * overlay, then dropping that one (the reject). Times each step and reads /counter from `base`.
 */
async function commit(argv: string[]): Promise<void> {
  const base = join(out, 'base.qcow2')
  const top = join(out, 'top-1.qcow2')
  const top2 = join(out, 'top-2.qcow2')
  for (const f of [base, top, top2]) await rm(f, { force: true })
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', join(out, 'disk.ext2'), base])
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, top])
  const vm = await startVm(['--init', 'snap', '--qmp', '--disk', `${top}:qcow2`, '--quiet', ...argv])
  const qmp = await Qmp.open(vm.qmpSocket!)
  await vm.waitFor(/cartenix: tick 3 /)
  const t = Date.now()
  await commitLayer(qmp, base, top2)
  log(`commitLayer (block-commit, job-complete, blockdev-snapshot-sync) in ${Date.now() - t} ms: ${JSON.stringify(qmp.events.filter((e) => e.event.startsWith('BLOCK_JOB')))}`)
  log(`query-block: ${JSON.stringify((await qmp.execute('query-block')).return)}`)
  await quitAndReadCounters(vm, qmp, [['base (accepted up to the commit)', base], ['top-2 (after)', top2]])
}

const [command, ...rest] = process.argv.slice(2)
if (command === 'lock') {
  const lock = await resolveVmLock(await readVmLock())
  await writeFile(vmLockPath, `${JSON.stringify(lock, null, 2)}\n`)
  log(JSON.stringify(lock.packages, null, 2))
} else if (command === 'build') await build()
else if (command === 'disk') await disk()
else if (command === 'boot') await boot(rest)
else if (command === 'bench') await bench(rest)
else if (command === 'snapshot') await snapshot(rest)
else if (command === 'extsnap') await extsnap(rest)
else if (command === 'commit') await commit(rest)
else {
  log('usage: npx tsx image/vm/probe.ts lock|build|disk|boot|bench|snapshot|extsnap [options]')
  process.exit(2)
}
process.exit(0)
