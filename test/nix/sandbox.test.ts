import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTarget } from '../../dapp/nix/build.ts'
import { BuildFailedError, EvaluationError, MissingSourcesError } from '../../dapp/nix/errors.ts'
import { listFixedOutputs } from '../../dapp/nix/fods.ts'
import { exec } from '../../dapp/lib/exec.ts'

let requests = 0
const server = createServer((_request, response) => {
  requests++
  response.end('reached')
})
let port = 0

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

// A unique name per run, so that Nix never answers from an earlier build.
const nonce = `${process.pid}-${Date.now()}`

describe('the sandbox', () => {
  it('gives a build no network: not even the host loopback', async () => {
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('reached')
    const before = requests
    const expr = `pkgs: pkgs.mkDerivation {
      name = "tries-the-network-${nonce}";
      buildPhase = ''
        exec 3<>/dev/tcp/127.0.0.1/${port}
        printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3
        cat <&3 > reply
      '';
      installPhase = "cp reply $out";
    }`
    const error = await buildTarget({ expr }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BuildFailedError)
    expect((error as BuildFailedError).logTail).toMatch(/Connection refused|Network is unreachable/)
    expect(requests).toBe(before)
  })

  it('refuses to build when a fixed-output source is missing, and names it', async () => {
    const sha256 = '0'.repeat(63) + '1'
    const expr = `pkgs: pkgs.mkDerivation {
      name = "needs-a-missing-source-${nonce}";
      src = pkgs.fixedOutput { name = "not-injected-1.0.tar.gz"; inherit (pkgs.sources."hello-2.10.tar.gz") url; sha256 = "${sha256}"; };
    }`
    const fods = await listFixedOutputs({ expr })
    expect(fods.filter((f) => !f.present).map((f) => [f.name, f.sha256])).toEqual([['not-injected-1.0.tar.gz', sha256]])
    const error = await buildTarget({ expr }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MissingSourcesError)
    expect(String(error)).toContain('not-injected-1.0.tar.gz')
    expect(String(error)).toContain('nothing was built')
  })

  it('stops a build at its time limit and leaves no builder behind', async () => {
    const marker = `cartenix-sleeper-${nonce}`
    const expr = `pkgs: pkgs.mkDerivation { name = "${marker}"; buildPhase = "sleep 600"; }`
    const started = Date.now()
    const error = await buildTarget({ expr }, { buildTimeoutMs: 3000 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BuildFailedError)
    expect((error as BuildFailedError).logTail).toMatch(/timed out after 3 seconds/)
    expect(Date.now() - started).toBeLessThan(60_000)
    // Nix kills the builder as it gives up; allow a busy machine some seconds to reap it.
    const deadline = Date.now() + 10_000
    let builders: string[] = []
    do {
      builders = (await exec('ps', ['-eo', 'args'])).stdout.split('\n').filter((line) => line.includes('sleep 600'))
      if (builders.length > 0) await new Promise((resolve) => setTimeout(resolve, 200))
    } while (builders.length > 0 && Date.now() < deadline)
    expect(builders).toEqual([])
  })

  it('reports an expression Nix cannot evaluate', async () => {
    const error = await buildTarget({ expr: 'pkgs: pkgs.no-such-package' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EvaluationError)
    expect(String(error)).toContain('no-such-package')
  })
})
