/**
 * Running programs inside the riscv64 root file system: a chroot whose root is a mount point
 * (Nix makes / private before it mounts anything), with /proc and /dev, all unmounted afterwards.
 */
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { exec, type ExecOptions, type ExecResult } from '../../dapp/lib/exec.ts'

export type Chroot = {
  root: string
  run: (program: string, args: readonly string[], options?: ExecOptions) => Promise<ExecResult>
  /** The argv that runs a program inside, for long-running children. */
  command: (program: string, args: readonly string[]) => { file: string; args: string[] }
  release: () => Promise<void>
}

async function isMountPoint(path: string): Promise<boolean> {
  return exec('mountpoint', ['-q', path]).then(() => true, () => false)
}

export async function enterChroot(root: string): Promise<Chroot> {
  if (!(await access(join(root, 'usr/bin/env')).then(() => true, () => false))) {
    throw new Error(`${root} is not a root file system: run \`npm run image\` first`)
  }
  const mounted: string[] = []
  const mount = async (args: string[], target: string) => {
    if (await isMountPoint(target)) return
    await exec('mount', [...args, target]).catch((cause: unknown) => {
      throw new Error(`Cannot mount ${target} for the chroot (${String(cause)}); this needs root and a kernel that allows it`)
    })
    mounted.unshift(target)
  }
  await mount(['--bind', root], root)
  await mount(['-t', 'proc', 'proc'], join(root, 'proc'))
  await mount(['--rbind', '/dev'], join(root, 'dev'))
  const command = (program: string, args: readonly string[]) => ({ file: 'chroot', args: [root, program, ...args] })
  return {
    root,
    command,
    run: (program, args, options) => {
      const { file, args: argv } = command(program, args)
      return exec(file, argv, options)
    },
    release: async () => {
      for (const target of mounted.splice(0)) await exec('umount', ['-R', '-l', target])
    },
  }
}
