import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runNix } from '../../dapp/nix/env.ts'
import { exec } from '../../dapp/lib/exec.ts'

const start = fileURLToPath(new URL('../../scripts/start.ts', import.meta.url))

describe('npm start', () => {
  it('builds hello through the rollup, validates it on-chain, prints one JSON object and stops what it started', async () => {
    const { stdout } = await exec(process.execPath, ['--import', 'tsx', start, '--json'], { timeoutMs: 15 * 60_000 })
    const summary = JSON.parse(stdout) as {
      inputIndex: string
      drvPath: string
      validatedOnChain: boolean
      outputs: { path: string; narHash: string; nixNarHash: string; narSize: string }[]
      chainUrl: string
    }
    expect(summary.validatedOnChain).toBe(true)
    expect(summary.inputIndex).toBe('0')
    expect(summary.drvPath).toMatch(/-hello-2\.10\.drv$/)
    const [out] = summary.outputs
    const { stdout: narHash } = await runNix('nix-store', ['--query', '--hash', out?.path ?? ''])
    expect(out?.nixNarHash).toBe(narHash.trim())
    const stillThere = await fetch(summary.chainUrl, { method: 'POST', body: '{}' }).then(() => true, () => false)
    expect(stillThere).toBe(false)
  })

  it('--consensus quorum: the same hello, its claim accepted by a Quorum of three validators that each built it in a store of their own', async () => {
    const { stdout } = await exec(process.execPath, ['--import', 'tsx', start, '--json', '--consensus', 'quorum'], { timeoutMs: 15 * 60_000 })
    const summary = JSON.parse(stdout) as {
      drvPath: string
      validatedOnChain: boolean
      outputs: { path: string; nixNarHash: string }[]
      consensus: { type: string; validators: string[]; votesForTheRoot: number }
    }
    expect(summary.validatedOnChain).toBe(true)
    expect(summary.drvPath).toMatch(/-hello-2\.10\.drv$/)
    expect(summary.consensus.type).toBe('QUORUM')
    expect(summary.consensus.validators).toHaveLength(3)
    // Accepted at two votes; the notice is proven after that, by when at least those two are on the chain.
    expect(summary.consensus.votesForTheRoot).toBeGreaterThanOrEqual(2)
    const [out] = summary.outputs
    const { stdout: narHash } = await runNix('nix-store', ['--query', '--hash', out?.path ?? ''])
    expect(out?.nixNarHash).toBe(narHash.trim())
  })

  it('refuses an unknown consensus and a Quorum of four, with the reason', async () => {
    for (const [args, reason] of [
      [['--consensus', 'pos'], '--consensus is authority (the default) or quorum'],
      [['--consensus', 'quorum', '--validators', '4'], '--validators is 1 to 3'],
    ] as const) {
      const failed = await exec(process.execPath, ['--import', 'tsx', start, ...args]).then(() => undefined, (error: unknown) => error as Error)
      expect(String(failed)).toContain(reason)
    }
  })
})
