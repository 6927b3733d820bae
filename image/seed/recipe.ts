import { z } from 'zod'

/**
 * What goes into the seed of tools, per Debian architecture. The seed plays the part of nixpkgs'
 * bootstrap-tools: prebuilt Debian binaries, unpacked by a busybox builder and patched to load
 * their libraries from the seed itself.
 */
export type SeedArch = z.infer<typeof seedArch>

export type SeedRecipe = {
  arch: SeedArch
  /** The Nix system that builds with this seed. */
  nixSystem: string
  /** Debian suite the packages are taken from. */
  suite: string
  mirror: string
  /** GNU triplet of Debian's multiarch directories (`/usr/lib/<triplet>`). */
  triplet: string
  /** The dynamic loader, as a path inside the seed. */
  loader: string
  /** Packages asked for; apt adds their dependencies when the lock is refreshed. */
  roots: readonly string[]
}

const tools = [
  'bash', 'coreutils', 'tar', 'gzip', 'xz-utils', 'bzip2', 'sed', 'grep', 'gawk', 'make', 'diffutils',
  'findutils', 'patch', 'gcc', 'cpp', 'binutils', 'libc6-dev', 'patchelf', 'busybox-static',
  // Current config.guess and config.sub: old tarballs' copies do not know riscv64.
  'autotools-dev',
] as const

export const seedRecipes: Record<SeedArch, SeedRecipe> = {
  amd64: {
    arch: 'amd64',
    nixSystem: 'x86_64-linux',
    suite: 'bookworm',
    mirror: 'http://deb.debian.org/debian',
    triplet: 'x86_64-linux-gnu',
    loader: 'lib64/ld-linux-x86-64.so.2',
    roots: tools,
  },
  riscv64: {
    arch: 'riscv64',
    nixSystem: 'riscv64-linux',
    suite: 'trixie',
    mirror: 'http://deb.debian.org/debian',
    triplet: 'riscv64-linux-gnu',
    loader: 'lib/ld-linux-riscv64-lp64d.so.1',
    roots: tools,
  },
}

/** Trees of no use to a build (documentation, translations); left out to keep the seed small. */
export const prunedDirectories = [
  'usr/share/doc',
  'usr/share/man',
  'usr/share/info',
  'usr/share/locale',
  'usr/share/lintian',
  'usr/share/bug',
  'usr/share/bash-completion',
  'usr/share/gdb',
] as const

/**
 * Links that Debian's maintainer scripts would make (dpkg's alternatives, dash's /bin/sh); no
 * maintainer script runs when packages are only unpacked.
 */
export const alternatives: Readonly<Record<string, string>> = {
  'usr/bin/sh': 'bash',
  'usr/bin/awk': 'gawk',
}

export const seedArch = z.enum(['amd64', 'riscv64'])

export function seedRecipe(arch: string): SeedRecipe {
  const parsed = seedArch.safeParse(arch)
  if (!parsed.success) throw new Error(`Unknown seed architecture "${arch}": expected one of ${seedArch.options.join(', ')}`)
  return seedRecipes[parsed.data]
}

/** The Debian architecture whose seed builds for the given Nix system. */
export function archForSystem(system: string): SeedArch {
  const recipe = Object.values(seedRecipes).find((r) => r.nixSystem === system)
  if (!recipe) throw new Error(`No seed recipe builds for Nix system "${system}"`)
  return recipe.arch
}
