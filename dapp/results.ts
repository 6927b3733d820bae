import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { decodeBuildResult, encodeBuildResult, type BuildResult } from './protocol/buildResult.ts'

/**
 * The results this back end has published, by drvPath. A result is staged while its input is
 * processed and committed only once the input is accepted: under the dev node nothing reverts
 * the back end's memory on reject, so it must not remember what the chain will never see.
 *
 * With a directory (CARTENIX_STATE_DIR), committed results are also written there, one file per
 * derivation, and read back at start: the VM reboots its back end to roll a rejected input back
 * (image/vm/rollback.ts), and the results published before must survive that.
 */
export class ResultLedger {
  #committed = new Map<string, BuildResult>()
  #staged: BuildResult | undefined
  readonly #directory: string | undefined

  constructor(directory?: string) {
    this.#directory = directory
    if (!directory) return
    mkdirSync(directory, { recursive: true })
    for (const name of readdirSync(directory).filter((n) => n.endsWith('.hex')).sort()) {
      const result = decodeBuildResult(readFileSync(join(directory, name), 'utf8').trim() as Hex)
      this.#committed.set(result.drvPath, result)
    }
  }

  stage(result: BuildResult): void {
    this.#staged = result
  }

  /** Called with the verdict of the input that staged a result. */
  settle(accepted: boolean): void {
    const staged = this.#staged
    this.#staged = undefined
    if (!accepted || !staged) return
    this.#committed.set(staged.drvPath, staged)
    if (!this.#directory) return
    // The notice's own encoding, whatever its version; written whole, then renamed: a reader
    // (or a reboot) sees the old file or the new one.
    const file = join(this.#directory, `${staged.drvPath.slice('/nix/store/'.length)}.hex`)
    writeFileSync(`${file}.new`, encodeBuildResult(staged))
    renameSync(`${file}.new`, file)
  }

  get(drvPath: string): BuildResult | undefined {
    return this.#committed.get(drvPath)
  }

  get size(): number {
    return this.#committed.size
  }
}
