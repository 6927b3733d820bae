import type { BuildResult } from '../contracts-client/abi/buildResult.ts'

/**
 * The results this back end has published, by drvPath. A result is staged while its input is
 * processed and committed only once the input is accepted: under the dev node nothing reverts
 * the back end's memory on reject, so it must not remember what the chain will never see.
 */
export class ResultLedger {
  #committed = new Map<string, BuildResult>()
  #staged: BuildResult | undefined

  stage(result: BuildResult): void {
    this.#staged = result
  }

  /** Called with the verdict of the input that staged a result. */
  settle(accepted: boolean): void {
    if (accepted && this.#staged) this.#committed.set(this.#staged.drvPath, this.#staged)
    this.#staged = undefined
  }

  get(drvPath: string): BuildResult | undefined {
    return this.#committed.get(drvPath)
  }

  get size(): number {
    return this.#committed.size
  }
}

/** A BuildResult as JSON (bigints as decimal strings), for reports. */
export function resultToJson(result: BuildResult) {
  return {
    ...result,
    inputIndex: result.inputIndex.toString(),
    outputs: result.outputs.map((o) => ({ ...o, narSize: o.narSize.toString() })),
  }
}
