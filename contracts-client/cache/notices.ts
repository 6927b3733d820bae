import { decodeAbiParameters, slice, toFunctionSelector, type Address, type Client, type Hex } from 'viem'
import { listOutputs } from '../actions/listOutputs.ts'
import { validateNotice } from '../actions/validateNotice.ts'
import { decodeBuildResult, type BuildResult } from '../abi/buildResult.ts'
import type { NodeClient } from '../node/client.ts'
import { hashPart, type CachePath } from './narinfo.ts'

/** A path a validated notice vouches for, with where the notice is. */
export type NoticePath = CachePath & { outputIndex: bigint; inputIndex: bigint }

export type NoticeIndexStatus = {
  /** Notices validated on-chain whose paths are served. */
  validated: number
  /** Build notices not yet provable (their epoch's claim is not accepted), re-checked on each refresh. */
  pending: number
  /** Outputs that give nothing to serve: vouchers, other notices, failed builds, version 1 (no references). */
  skipped: number
  paths: number
  /** Paths two validated notices give different NAR hashes for: served by neither. */
  conflicts: string[]
  lastRefresh: string | null
}

/**
 * The store paths that notices validated on-chain vouch for. The node's JSON-RPC is only where
 * outputs are found: each notice is decoded from its raw bytes (not the node's decoding), and a
 * path is served only once Application.validateOutput accepts that output and its proof.
 */
export class NoticeIndex {
  readonly #node: NodeClient
  readonly #chain: Client
  readonly #application: Address
  readonly #log: (line: string) => void
  readonly #paths = new Map<string, NoticePath>()
  readonly #conflicts = new Set<string>()
  /** Outputs settled for good (validated or skipped); every index below #from is. */
  readonly #settled = new Set<bigint>()
  #from = 0n
  #pending = 0
  #validated = 0
  #skipped = 0
  #lastRefresh: Date | undefined
  #refreshing: Promise<void> | undefined

  constructor(args: { node: NodeClient; chain: Client; application: Address; log?: (line: string) => void }) {
    this.#node = args.node
    this.#chain = args.chain
    this.#application = args.application
    this.#log = args.log ?? (() => {})
  }

  lookup(hash: string): NoticePath | undefined {
    return this.#conflicts.has(hash) ? undefined : this.#paths.get(hash)
  }

  isConflicted(hash: string): boolean {
    return this.#conflicts.has(hash)
  }

  status(): NoticeIndexStatus {
    return {
      validated: this.#validated,
      pending: this.#pending,
      skipped: this.#skipped,
      paths: this.#paths.size - this.#conflicts.size,
      conflicts: [...this.#conflicts].map((h) => this.#paths.get(h)?.path ?? h),
      lastRefresh: this.#lastRefresh?.toISOString() ?? null,
    }
  }

  /**
   * Reads the outputs not yet settled and validates the build notices among them. Concurrent
   * callers share one refresh; `minAgeMs` skips it when the last one is that recent.
   */
  refresh(minAgeMs = 0): Promise<void> {
    if (this.#refreshing) return this.#refreshing
    if (this.#lastRefresh && Date.now() - this.#lastRefresh.getTime() < minAgeMs) return Promise.resolve()
    this.#refreshing = this.#scan().finally(() => {
      this.#refreshing = undefined
      this.#lastRefresh = new Date()
    })
    return this.#refreshing
  }

  async #scan(): Promise<void> {
    let pending = 0
    for (let offset = Number(this.#from); ; ) {
      const { outputs, totalCount } = await listOutputs(this.#node, { application: this.#application, offset, limit: 500 })
      for (const output of outputs) {
        if (this.#settled.has(output.index)) continue
        const result = buildResultOf(output.rawData)
        if (!result || !result.success || result.version < 2) {
          this.#skipped++
          this.#settled.add(output.index)
          continue
        }
        const verdict = output.siblings ? await validateNotice(this.#chain, { application: this.#application, output }) : undefined
        if (!verdict?.valid) {
          pending++
          continue
        }
        this.#validated++
        this.#settled.add(output.index)
        for (const path of pathsOf(result)) this.#add({ ...path, outputIndex: output.index, inputIndex: result.inputIndex })
        this.#log(`validated notice ${output.index} (input ${result.inputIndex}): ${result.drvPath}, ${result.outputs.length + (result.closure?.length ?? 0)} paths`)
      }
      offset += outputs.length
      if (outputs.length === 0 || offset >= totalCount) break
    }
    while (this.#settled.has(this.#from)) this.#from++
    this.#pending = pending
  }

  #add(path: NoticePath): void {
    const hash = hashPart(path.path)
    const known = this.#paths.get(hash)
    if (!known) {
      this.#paths.set(hash, path)
      return
    }
    if (known.narHash !== path.narHash || known.narSize !== path.narSize || known.references.join() !== path.references.join()) {
      if (!this.#conflicts.has(hash)) this.#log(`conflict: notices ${known.outputIndex} and ${path.outputIndex} disagree on ${path.path}; it is not served`)
      this.#conflicts.add(hash)
    }
  }
}

const noticeSelector = toFunctionSelector('Notice(bytes)')

/** The BuildResult in a notice's raw output bytes, or undefined for any other output. */
function buildResultOf(rawData: Hex): BuildResult | undefined {
  try {
    if (slice(rawData, 0, 4) !== noticeSelector) return undefined
    const [payload] = decodeAbiParameters([{ type: 'bytes' }], slice(rawData, 4))
    return decodeBuildResult(payload)
  } catch {
    // Not a Cartenix build notice (an application may emit others): nothing to serve from it.
    return undefined
  }
}

function pathsOf(result: BuildResult): CachePath[] {
  const outputs = result.outputs.map((o) => ({ path: o.path, narHash: o.narHash, narSize: o.narSize, references: [...(o.references ?? [])].sort(), deriver: result.drvPath }))
  const closure = (result.closure ?? []).map((c) => ({ path: c.path, narHash: c.narHash, narSize: c.narSize, references: [...c.references].sort() }))
  return [...outputs, ...closure]
}
