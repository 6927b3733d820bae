/**
 * What the host needs to make and run a riscv64 root file system without Docker: mmdebstrap,
 * arch-test (mmdebstrap refuses a foreign --arch without it), qemu-user with a binfmt entry for
 * riscv64 (so that the kernel runs riscv64 programs through qemu, inside a chroot too), and
 * genext2fs. Installed by the project; each missing piece that cannot be installed is an error
 * that names it and says what to do.
 *
 * mmdebstrap's other Recommends are not needed here: fakechroot, fakeroot and uidmap serve its
 * other modes (this one is --mode=root); gpg, libdpkg-perl and libdistro-info-perl only help it
 * guess a mirror, keyring or signed-by value, and the mirror is given and apt trusts the host's
 * keys (/etc/apt/trusted.gpg.d). mount (util-linux, priority required) is listed anyway: in root
 * mode mmdebstrap mounts /proc and /dev for the maintainer scripts, and so does the chroot.
 */
import { access, constants, readFile } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { execFile } from 'node:child_process'
import { exec } from '../../dapp/lib/exec.ts'
import { missingPackages } from '../host/apt.ts'

/** Each program the image needs on the host, with the Debian package that provides it. */
export const imageHostPrograms = [
  { program: 'mmdebstrap', package: 'mmdebstrap' },
  { program: 'arch-test', package: 'arch-test' },
  { program: 'qemu-riscv64-static', package: 'qemu-user-static' },
  { program: 'update-binfmts', package: 'binfmt-support' },
  { program: 'genext2fs', package: 'genext2fs' },
  { program: 'mount', package: 'mount' },
  // The riscv64 VM (image/vm): full-system QEMU, qcow2 overlays, and xz for the kernel's modules.
  { program: 'qemu-system-riscv64', package: 'qemu-system-misc' },
  { program: 'qemu-img', package: 'qemu-utils' },
  { program: 'xz', package: 'xz-utils' },
] as const

export const imageHostPackages = [...new Set(imageHostPrograms.map((p) => p.package))]

export class ImageHostError extends Error {
  override name = 'ImageHostError' as const
}

const binfmtDir = '/proc/sys/fs/binfmt_misc'

/** The file a program name resolves to on a PATH, or undefined when none is executable. */
export async function findProgram(program: string, path: string = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue
    const file = join(dir, program)
    if (await access(file, constants.X_OK).then(() => true, () => false)) return file
  }
  return undefined
}

/** Throws naming every program of `programs` that is not on `path`, with its package. */
export async function requirePrograms(
  programs: readonly { program: string; package: string }[] = imageHostPrograms,
  path: string = process.env.PATH ?? '',
): Promise<void> {
  const missing: { program: string; package: string }[] = []
  for (const p of programs) if (!(await findProgram(p.program, path))) missing.push(p)
  if (missing.length === 0) return
  const names = missing.map((p) => `${p.program} (package ${p.package})`).join(', ')
  const packages = [...new Set(missing.map((p) => p.package))].join(' ')
  throw new ImageHostError(`Not found on PATH: ${names}. Install as root: apt-get install --no-install-recommends ${packages}`)
}

/**
 * Asks arch-test whether riscv64 programs run here. A missing arch-test is reported as such;
 * only an arch-test that ran and said no is blamed on qemu and binfmt.
 */
export async function checkRiscv64Runs(path: string = process.env.PATH ?? ''): Promise<void> {
  const archTest = await findProgram('arch-test', path)
  if (!archTest) {
    throw new ImageHostError('arch-test is not installed (not found on PATH); mmdebstrap needs it for a foreign --arch. Install as root: apt-get install arch-test')
  }
  const answer = await new Promise<{ code: number | string | null; output: string }>((resolve) => {
    execFile(archTest, ['riscv64'], { timeout: 60_000 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim()
      resolve({ code: error ? ((error as NodeJS.ErrnoException).code ?? null) : 0, output })
    })
  })
  if (typeof answer.code === 'string') throw new ImageHostError(`arch-test could not be run (${archTest}: ${answer.code})`)
  // arch-test prints "riscv64: ok" and exits 0 when riscv64 programs run.
  if (answer.code !== 0 || !/\bok\b/.test(answer.output)) {
    throw new ImageHostError(
      `arch-test ran and said riscv64 programs do not run on this host (arch-test riscv64: ${answer.output || '(no output)'}; exit code ${answer.code ?? 'none'}). ` +
        `Check that qemu-user-static is installed and ${binfmtDir}/qemu-riscv64 is enabled (update-binfmts --enable qemu-riscv64).`,
    )
  }
}

async function aptInstall(packages: readonly string[], log: (line: string) => void): Promise<void> {
  const install = () =>
    exec('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  log(`image: installing ${packages.join(' ')}`)
  await install().catch(async () => {
    // Package lists that are absent or stale (404 on a superseded version): refresh once.
    log('image: apt-get update')
    await exec('apt-get', ['update', '-qq'])
    await install()
  })
}

const readEntry = (name: string) => readFile(`${binfmtDir}/${name}`, 'utf8').catch(() => '')

export async function ensureImageHost(log: (line: string) => void): Promise<void> {
  const missing = await missingPackages(imageHostPackages)
  if (missing.length > 0) await aptInstall(missing, log)
  await requirePrograms()
  if (!(await access(`${binfmtDir}/register`).then(() => true, () => false))) {
    await exec('mount', ['-t', 'binfmt_misc', 'binfmt_misc', binfmtDir]).catch((cause: unknown) => {
      throw new ImageHostError(`binfmt_misc is not mounted and could not be (${String(cause)}). Run as root: mount -t binfmt_misc binfmt_misc ${binfmtDir}`)
    })
  }
  if (!(await readEntry('qemu-riscv64')).startsWith('enabled')) {
    log('image: enabling the binfmt entry for qemu-riscv64')
    // qemu-user-static's postinst imports its entries into binfmt-support's database; when
    // binfmt_misc was not mounted then, the kernel has none yet.
    const enable = await exec('update-binfmts', ['--enable', 'qemu-riscv64']).then(() => '', (cause: unknown) => String(cause))
    const again = await readEntry('qemu-riscv64')
    if (!again.startsWith('enabled')) {
      throw new ImageHostError(
        `No binfmt entry runs riscv64 programs (${binfmtDir}/qemu-riscv64 is ${again ? 'disabled' : 'missing'}${enable ? `; update-binfmts --enable qemu-riscv64 failed: ${enable}` : ''}). ` +
          'Run as root: update-binfmts --enable qemu-riscv64 (package binfmt-support, with qemu-user-static installed).',
      )
    }
  }
  await checkRiscv64Runs()
}
