/**
 * Hostile Nix expressions against real Nix: each must end in a clear failure within its limits,
 * and the host must be unharmed. Limits are set low here so that the attacks fail fast.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { buildTarget } from '../../dapp/nix/build.ts'
import { BuildFailedError, EvaluationError, MissingSourcesError } from '../../dapp/nix/errors.ts'
import { statfs } from 'node:fs/promises'
import { exec } from '../../dapp/lib/exec.ts'

const nonce = `${process.pid}-${Date.now()}`
const outcomes: string[] = []
afterAll(() => console.log(`hostile expressions: ${outcomes.length} tried, ${outcomes.length} ended as expected (${outcomes.join(', ')})`))

async function expectFailure(name: string, expr: string, kind: typeof EvaluationError | typeof BuildFailedError | typeof MissingSourcesError, message: RegExp, options = {}) {
  const started = Date.now()
  const error = await buildTarget({ expr }, { evalTimeoutMs: 60_000, buildTimeoutMs: 30_000, memoryBytes: 512 * 1024 * 1024, ...options }).catch((e: unknown) => e)
  expect(error, name).toBeInstanceOf(kind)
  expect(String(error), name).toMatch(message)
  expect(Date.now() - started, name).toBeLessThan(120_000)
  outcomes.push(name)
}

const rootProcesses = async () => (await exec('ps', ['-e', '-o', 'pid='])).stdout.split('\n').filter(Boolean).length

describe('hostile expressions', () => {
  it('cannot read host files, the home directory, /proc, or import outside the package set', async () => {
    await expectFailure('reads /etc/passwd', 'pkgs: builtins.readFile /etc/passwd', EvaluationError, /forbidden in pure eval mode/)
    await expectFailure('reads ~', 'pkgs: builtins.readDir ~/.', EvaluationError, /access to absolute path '\/homeless-shelter' is forbidden in pure eval mode/)
    await expectFailure('reads /proc', 'pkgs: builtins.readFile /proc/self/environ', EvaluationError, /forbidden in pure eval mode/)
    await expectFailure('imports /etc', 'pkgs: import /etc/nix/nix.conf', EvaluationError, /forbidden in pure eval mode/)
    await expectFailure('imports <nixpkgs>', 'pkgs: import <nixpkgs> {}', EvaluationError, /cannot look up '<nixpkgs>' in pure evaluation mode/)
  })

  it('cannot fetch, and cannot import from a derivation', async () => {
    await expectFailure('builtins.fetchurl', 'pkgs: builtins.fetchurl "http://127.0.0.1:1/x"', EvaluationError, /forbidden in restricted mode/)
    await expectFailure('fetchTarball', 'pkgs: builtins.fetchTarball "http://127.0.0.1:1/x.tar.gz"', EvaluationError, /forbidden in restricted mode/)
    const ifd = `pkgs: import (pkgs.mkDerivation { name = "ifd-${nonce}"; installPhase = "echo 1 > $out"; })`
    await expectFailure('import-from-derivation', ifd, EvaluationError, /import-from-derivation|not allowed|cannot import/)
  })

  it('ends infinite recursion and endless allocation in evaluation', async () => {
    await expectFailure('infinite recursion', 'pkgs: let x = x + 1; in x', EvaluationError, /infinite recursion/)
    const allocate = 'pkgs: builtins.length (builtins.foldl\' (acc: n: acc ++ [ (builtins.genList (i: i) 1000) ]) [] (builtins.genList (i: i) 100000000))'
    await expectFailure('endless allocation', allocate, EvaluationError, /out of memory|memory|Cannot allocate|bad_alloc|GC Warning|killed|signal/i)
  })

  it('refuses a fixed-output derivation that is not injected (it would get the network)', async () => {
    const fod = `pkgs: derivation { name = "claims-a-hash-${nonce}"; system = pkgs.seed.system; builder = "\${pkgs.seed}/usr/bin/bash"; args = [ "-c" "echo not-what-was-claimed > $out" ]; outputHashMode = "flat"; outputHashAlgo = "sha256"; outputHash = "${'1'.repeat(64)}"; }`
    await expectFailure('FOD claiming a hash', fod, MissingSourcesError, /nothing was built/)
  })

  it('stops a builder that loops forever, forks without end, or writes an enormous file', async () => {
    const loop = `pkgs: pkgs.mkDerivation { name = "loops-${nonce}"; buildPhase = "while :; do :; done"; }`
    await expectFailure('endless loop', loop, BuildFailedError, /timed out after/, { buildTimeoutMs: 5_000 })

    const before = await rootProcesses()
    const bomb = `pkgs: pkgs.mkDerivation { name = "forks-${nonce}"; buildPhase = "bomb() { bomb | bomb & }; bomb; sleep 20"; }`
    await expectFailure('fork bomb', bomb, BuildFailedError, /Resource temporarily unavailable|fork|timed out/, { maxProcesses: 64, buildTimeoutMs: 10_000 })
    // The bomb's processes die with its build; allow a busy machine some seconds to reap them.
    let after = await rootProcesses()
    for (const deadline = Date.now() + 30_000; after >= before + 50 && Date.now() < deadline; after = await rootProcesses()) {
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    expect(after).toBeLessThan(before + 50)

    const huge = `pkgs: pkgs.mkDerivation { name = "huge-${nonce}"; buildPhase = "head -c 200000000 /dev/zero > big"; installPhase = "cp big $out"; }`
    await expectFailure('enormous output', huge, BuildFailedError, /File size limit exceeded|exit code|failed/, { maxFileBytes: 16 * 1024 * 1024 })
  })

  it('stops a build that fills the disk with many files, each under the file size limit', async () => {
    const { bavail, bsize } = await statfs('/nix/store')
    const floor = bavail * bsize - 150 * 1024 * 1024
    const fill = `pkgs: pkgs.mkDerivation { name = "fills-${nonce}"; buildPhase = "i=0; while :; do head -c 8000000 /dev/zero > f$i; i=$((i+1)); done"; }`
    await expectFailure('fills the disk', fill, BuildFailedError, /left free on the store's disk/, { maxFileBytes: 16 * 1024 * 1024, minFreeDiskBytes: floor, buildTimeoutMs: 60_000 })
    // Nix removes the stopped build's files: the space comes back (give it a few seconds).
    let free = 0
    for (let attempt = 0; attempt < 50 && free <= floor; attempt++) {
      const after = await statfs('/nix/store')
      free = after.bavail * after.bsize
      if (free <= floor) await new Promise((resolve) => setTimeout(resolve, 200))
    }
    expect(free).toBeGreaterThan(floor)
  })
})
