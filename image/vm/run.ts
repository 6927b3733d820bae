/**
 * Runs the riscv64 machine as a VM in place of a back end process: what the devnet starts for
 * `--machine riscv64`. It reads what a back end reads (ROLLUP_HTTP_SERVER_URL, the CARTENIX_*
 * settings, passed on to the back end inside), boots the VM on the image's root file system,
 * relays the rollup API into it, and exits when the VM powers off (its back end exited), with
 * the VM's status. SIGTERM stops the VM.
 *
 *   CARTENIX_VM_DETERMINISTIC=1   one clock for every run (-icount, a fixed RTC); see NOTES.md
 *   CARTENIX_VM_MEMORY=2G         guest RAM
 *   CARTENIX_VM_DIR=<dir>         where the machine's disk lives, kept across runs (the devnet
 *                                 gives <devnet dir>/vm); a temporary directory otherwise
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ext2Path } from '../rootfs/build.ts'
import { startMachine } from './machine.ts'

/** Host-side settings that mean nothing inside the machine. */
const hostOnly = new Set(['CARTENIX_ROOT', 'CARTENIX_SYSTEM', 'CARTENIX_CACHE', 'CARTENIX_VM_DETERMINISTIC', 'CARTENIX_VM_MEMORY', 'CARTENIX_VM_DIR', 'CARTENIX_STATE_DIR'])

const log = (line: string) => process.stderr.write(`${line}\n`)
const rollupUrl = process.env.ROLLUP_HTTP_SERVER_URL
if (!rollupUrl) {
  log('image/vm/run: ROLLUP_HTTP_SERVER_URL is required (the rollup HTTP API on the host)')
  process.exit(2)
}
const backendEnv = {
  // The machine's disk is its image's free room (image/rootfs/build.ts), not a host disk: the
  // back end's floor for it is lower than the host default (1024 MiB) unless given.
  CARTENIX_BUILD_MIN_FREE_DISK_MB: '256',
  ...Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[0].startsWith('CARTENIX_') && !hostOnly.has(entry[0]) && entry[1] !== undefined),
  ),
}
// A kept directory is the machine's state, as the Cartesi node keeps its machine's snapshot: a
// restarted devnet (or a VM the devnet restarts) goes on from the last accepted input.
const keptDir = process.env.CARTENIX_VM_DIR
const workDir = keptDir ?? (await mkdtemp(join(tmpdir(), 'cartenix-vm-')))
const vm = await startMachine({
  ext2: ext2Path,
  workDir,
  rollupUrl,
  memory: process.env.CARTENIX_VM_MEMORY,
  deterministic: process.env.CARTENIX_VM_DETERMINISTIC === '1',
  backendEnv,
  log,
})
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void vm.stop())
const code = await vm.exited
if (!keptDir) await rm(workDir, { recursive: true, force: true })
process.exit(code ?? 1)
