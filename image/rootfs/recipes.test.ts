/**
 * The two recipes of the riscv64 machine stay in step: image/Dockerfile (the Cartesi CLI path,
 * never built here: no Docker engine) and image/rootfs/build.ts (`npm run image`). Read as text,
 * the Dockerfile must install the same Debian packages, put Nix's settings and /opt/cartenix in
 * the same places, add the same store inputs the same way, build the same derivation, and run
 * the same back end. (test/riscv64 compares the files themselves once an image is built.)
 */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { machinePackages, machineRoot } from './build.ts'
import { readTreeLock } from './lock.ts'

const dockerfile = await readFile(new URL('../Dockerfile', import.meta.url), 'utf8')
const recipe = await readFile(new URL('./build.ts', import.meta.url), 'utf8')
/** The Dockerfile's instructions, with continuation lines joined. */
const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() && !l.startsWith('#'))

describe('the Dockerfile and npm run image', () => {
  it('install the same Debian packages, at the locked versions, on the same suite', async () => {
    const lock = await readTreeLock()
    const install = instructions.find((l) => l.includes('apt-get install'))
    const packages = (install ?? '').split('apt-get install')[1]?.split('&&')[0]?.split(/\s+/).filter((w) => w && !w.startsWith('-') && !w.endsWith('.deb'))
    const locked = lock.packages.filter((p) => lock.roots.includes(p.package)).map((p) => `${p.package}=${p.version}`)
    expect(packages?.sort()).toEqual(locked.sort())
    expect([...lock.roots].sort()).toEqual([...machinePackages].sort())
    expect(instructions[0]).toMatch(new RegExp(`^FROM --platform=linux/${lock.arch} debian:${lock.suite}`))
    expect(recipe).toContain('`--include=${lock.roots.join(\',\')}`')
  })

  it('put the same files in the same places', () => {
    expect(instructions).toContain('COPY image/nix/nix.conf /etc/nix/nix.conf')
    expect(recipe).toContain("cp(join(repoRoot, 'image/nix/nix.conf'), join(rootfsDir, 'etc/nix/nix.conf'))")
    // The context's /opt/cartenix is a copy of the tree's (dockerContext in build.ts).
    expect(instructions).toContain(`COPY .cartenix/image/context${machineRoot} ${machineRoot}`)
    expect(recipe).toContain("cp(join(rootfsDir, machineRoot.slice(1)), join(context, machineRoot.slice(1)), { recursive: true })")
    expect(instructions).toContain(`ENV CARTENIX_ROOT=${machineRoot}`)
    expect(instructions).toContain(`CMD ["node", "${machineRoot}/backend.mjs"]`)
  })

  it('add the store inputs by content and build the same derivation', () => {
    const run = instructions.find((l) => l.includes('nix-store --add-fixed')) ?? ''
    expect(run).toContain('nix-store --add-fixed --recursive sha256')
    expect(run).toContain('nix-store --add-fixed sha256')
    const build = /nix-build (\S+) --attr (\S+) --argstr system (\S+)/.exec(run)
    expect(build?.slice(1)).toEqual([`${machineRoot}/image/pkgs`, 'stdenv', 'riscv64-linux'])
    expect(recipe).toContain("chroot.run('nix-instantiate', [`${machineRoot}/image/pkgs`, '--attr', 'stdenv', '--argstr', 'system', 'riscv64-linux']")
    expect(recipe).toContain("chroot.run('nix-store', ['--realise', stdenvDrv]")
  })
})
