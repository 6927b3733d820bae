import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { BuildResult } from './protocol/buildResult.ts'
import { ResultLedger } from './results.ts'

const result = (name: string, inputIndex: bigint): BuildResult => ({
  version: 2,
  requestHash: `0x${'ab'.repeat(32)}`,
  inputIndex,
  system: 'riscv64-linux',
  drvPath: `/nix/store/${'a'.repeat(32)}-${name}.drv`,
  success: true,
  outputs: [{ name: 'out', path: `/nix/store/${'b'.repeat(32)}-${name}`, narHash: `0x${'cd'.repeat(32)}`, narSize: 123456789012n, references: [] }],
  closure: [{ path: `/nix/store/${'c'.repeat(32)}-dep`, narHash: `0x${'ef'.repeat(32)}`, narSize: 7n, references: [] }],
})

describe('the results ledger', () => {
  it('keeps what was accepted across a restart (CARTENIX_STATE_DIR), and nothing a rejected input staged', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cartenix-ledger-')), 'results')
    const ledger = new ResultLedger(dir)
    ledger.stage(result('kept', 3n))
    ledger.settle(true)
    ledger.stage(result('dropped', 4n))
    ledger.settle(false)
    expect(readdirSync(dir)).toHaveLength(1)

    const restarted = new ResultLedger(dir)
    expect(restarted.size).toBe(1)
    expect(restarted.get(result('kept', 3n).drvPath)).toEqual(result('kept', 3n))
    expect(restarted.get(result('dropped', 4n).drvPath)).toBeUndefined()
  })

  it('keeps results in memory only without a directory', () => {
    const ledger = new ResultLedger()
    ledger.stage(result('x', 1n))
    ledger.settle(true)
    expect(ledger.get(result('x', 1n).drvPath)?.inputIndex).toBe(1n)
  })
})
