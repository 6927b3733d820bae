/**
 * What the host needs to make and run a riscv64 root file system without Docker: mmdebstrap,
 * qemu-user with a binfmt entry for riscv64 (so that the kernel runs riscv64 programs through
 * qemu, inside a chroot too), and genext2fs. Installed by the project; each missing piece that
 * cannot be installed is an error that says what to do.
 */
import { access, readFile } from 'node:fs/promises'
import { exec } from '../../scripts/lib/exec.ts'
import { missingPackages } from '../../scripts/lib/apt.ts'

export const imageHostPackages = ['mmdebstrap', 'qemu-user-static', 'binfmt-support', 'genext2fs'] as const

export class ImageHostError extends Error {
  override name = 'ImageHostError' as const
}

const binfmtDir = '/proc/sys/fs/binfmt_misc'

export async function ensureImageHost(log: (line: string) => void): Promise<void> {
  const missing = await missingPackages(imageHostPackages)
  if (missing.length > 0) {
    log(`image: installing ${missing.join(' ')}`)
    await exec('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  }
  if (!(await access(`${binfmtDir}/register`).then(() => true, () => false))) {
    await exec('mount', ['-t', 'binfmt_misc', 'binfmt_misc', binfmtDir]).catch((cause: unknown) => {
      throw new ImageHostError(`binfmt_misc is not mounted and could not be (${String(cause)}). Run as root: mount -t binfmt_misc binfmt_misc ${binfmtDir}`)
    })
  }
  const entry = await readFile(`${binfmtDir}/qemu-riscv64`, 'utf8').catch(() => '')
  if (!entry.startsWith('enabled')) {
    await exec('update-binfmts', ['--enable', 'qemu-riscv64']).catch(() => undefined)
    const again = await readFile(`${binfmtDir}/qemu-riscv64`, 'utf8').catch(() => '')
    if (!again.startsWith('enabled')) {
      throw new ImageHostError(
        `No binfmt entry runs riscv64 programs (${binfmtDir}/qemu-riscv64 is ${again ? 'disabled' : 'missing'}). ` +
          'Run as root: update-binfmts --enable qemu-riscv64 (package binfmt-support, with qemu-user-static installed).',
      )
    }
  }
  const { stdout } = await exec('arch-test', ['riscv64']).catch((cause: { stdout?: string }) => ({ stdout: cause.stdout ?? 'failed' }))
  if (!stdout.includes('ok')) throw new ImageHostError(`riscv64 programs do not run on this host through qemu (arch-test riscv64: ${stdout.trim()})`)
}
