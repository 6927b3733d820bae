import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runNix } from '../../dapp/nix/env.ts'
import { exec } from '../../dapp/lib/exec.ts'

const start = fileURLToPath(new URL('../../scripts/start.ts', import.meta.url))

describe('npm start -- --json', () => {
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
})
