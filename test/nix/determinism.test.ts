import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exec } from '../../dapp/lib/exec.ts'
import type { Outcome } from './evaluate-requests.ts'

/**
 * A notice binds a request to one derivation: the same request must give the same drvPath (or the
 * same refusal) whenever, wherever and by whomever it is evaluated. Requests reach for everything
 * that could differ between two evaluations: the clock, the environment, the working directory,
 * the request's own location, the image's location, the search path, the host's files.
 */
const repo = fileURLToPath(new URL('../../', import.meta.url))
const evaluator = fileURLToPath(new URL('./evaluate-requests.ts', import.meta.url))
// By URL: the child runs from directories where `tsx` would not resolve by name.
const tsx = new URL('node_modules/tsx/dist/loader.mjs', pathToFileURL(repo)).href

const probes = [
  'builtins.currentTime',
  'builtins.currentSystem',
  'toString ./.',
  'builtins.getEnv "HOME"',
  'builtins.getEnv "CARTENIX_PROBE"',
  'builtins.getEnv "PWD"',
  'builtins.nixPath',
  'builtins.readFile /etc/hostname',
  'builtins.pathExists /tmp',
  'builtins.readDir ./.',
  'builtins.readDir ~/.',
  'toString ~/x',
  'builtins.storeDir',
  'builtins.unsafeGetAttrPos "hello" pkgs',
  'builtins.unsafeGetAttrPos "x" { x = 1; }',
  'toString pkgs.hello',
  'pkgs.lua.drvPath',
  'import <nixpkgs>',
  'builtins.fetchurl "http://127.0.0.1:1/x"',
  'builtins.hasAttr "currentTime" builtins',
  'builtins.attrNames builtins',
  'builtins.toFile "f" "x"',
  'import (builtins.toFile "f.nix" "1")',
  'builtins.readFile pkgs.stdenv.setup',
  'builtins.storePath "/nix/store/3x7dwzq014bblazs7kq20p9hyzz0qh8g-hello-2.10.tar.gz"',
  'builtins.nixVersion',
  '__curPos',
] as const

const expressionRequest = fc
  .tuple(fc.constantFrom(...probes), fc.nat({ max: 999 }), fc.boolean())
  .map(([probe, n, wrapped]) =>
    wrapped
      ? { expr: `pkgs: pkgs.mkDerivation { name = "probe-${n}"; value = builtins.toJSON (${probe}); }` }
      : { expr: `pkgs: ${probe}` },
  )
const attributeRequest = fc.constantFrom('hello', 'lua', 'seed', 'stdenv', 'nope', 'hello.out').map((attr) => ({ attr }))
const aRequest = fc.oneof(expressionRequest, attributeRequest).map((r) => JSON.stringify(r))

/** Evaluates the requests in a child process with its own image clone, directory and environment. */
async function evaluateFrom(place: { root: string; cwd: string; env: Record<string, string> }, requests: string[]): Promise<Outcome[]> {
  const { stdout } = await exec(process.execPath, ['--import', tsx, evaluator], {
    cwd: place.cwd,
    env: { ...process.env, ...place.env, CARTENIX_ROOT: place.root },
    input: JSON.stringify(requests),
  })
  return JSON.parse(stdout) as Outcome[]
}

describe('evaluation of a request', () => {
  let scratch: string
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'cartenix-determinism-'))
    // A second clone of the image, somewhere else on disk.
    await cp(join(repo, 'image'), join(scratch, 'clone', 'image'), { recursive: true })
  })
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true })
  })

  it('gives the same drvPath or the same refusal at another time, in another clone, directory and environment', async () => {
    const sampled = fc.sample(aRequest, { numRuns: 40, seed: 20261201 })
    // Every probe at least once, whatever the sample drew.
    const requests = [...new Set([...probes.map((probe) => JSON.stringify({ expr: `pkgs: ${probe}` })), ...sampled])]
    const first = await evaluateFrom({ root: repo, cwd: repo, env: { HOME: '/root', CARTENIX_PROBE: 'first', TZ: 'UTC' } }, requests)
    // currentTime counts seconds: make sure the second evaluation happens in another one.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const second = await evaluateFrom(
      { root: join(scratch, 'clone'), cwd: scratch, env: { HOME: scratch, CARTENIX_PROBE: 'second', TZ: 'Asia/Tokyo' } },
      requests,
    )
    expect(second).toHaveLength(requests.length)
    requests.forEach((request, i) => expect({ request, outcome: second[i] }).toEqual({ request, outcome: first[i] }))
    // The probes are not all refused: the property also holds for requests that evaluate.
    expect(first.filter((o) => 'drvPaths' in o).length).toBeGreaterThan(5)
  })

  it('refuses the impure builtins by name', async () => {
    const [time, system] = await evaluateFrom({ root: repo, cwd: repo, env: {} }, [
      JSON.stringify({ expr: 'pkgs: builtins.currentTime' }),
      JSON.stringify({ expr: 'pkgs: pkgs.mkDerivation { name = "x"; s = builtins.currentSystem; }' }),
    ])
    expect(time).toMatchObject({ refused: expect.stringContaining("attribute 'currentTime' missing") })
    expect(system).toMatchObject({ refused: expect.stringContaining("attribute 'currentSystem' missing") })
  })

  it('reads no file outside the package set and the request', async () => {
    const [hostFile, storeListing] = await evaluateFrom({ root: repo, cwd: repo, env: {} }, [
      JSON.stringify({ expr: 'pkgs: builtins.readFile /etc/hostname' }),
      JSON.stringify({ expr: 'pkgs: builtins.readDir ./.' }),
    ])
    expect(hostFile).toMatchObject({ refused: expect.stringContaining("access to absolute path '/etc/hostname' is forbidden") })
    expect(storeListing).toMatchObject({ refused: expect.stringContaining("access to absolute path '/nix/store' is forbidden") })
  })
})
