import { decodeAbiParameters, slice, toFunctionSelector, type Address, type Client, type Hex } from 'viem'
import { getApplication } from '../actions/getApplication.ts'
import { listOutputs } from '../actions/listOutputs.ts'
import { validateNotice } from '../actions/validateNotice.ts'
import { decodeBuildResult, type BuildResult } from '../../dapp/protocol/buildResult.ts'
import { decodeSourceAdded, isSourceAdded, type SourceAdded } from '../../dapp/protocol/sourceUpload.ts'
import type { NodeClient } from '../node/client.ts'
import type { NodeOutput } from '../../dapp/protocol/nodeApi.ts'
import { fixedOutputPath } from '../../dapp/nix/store.ts'
import { CommandFailedError } from '../../dapp/lib/exec.ts'
import type { FixedPath } from './fixed.ts'
import { hashPart, type CachePath } from './narinfo.ts'

/** A path a validated notice vouches for, with where the notice is. */
export type NoticePath = CachePath & { outputIndex: bigint; inputIndex: bigint }

/**
 * A source uploaded through the rollup, from a validated SourceAdded notice whose store path
 * follows from its name, mode and sha256. Like a locked source, its bytes must still hash to
 * `sha256` before it is served.
 */
export type SourcePath = FixedPath & { size: bigint; outputIndex: bigint; inputIndex: bigint; uploader: Address }

export type NoticeIndexStatus = {
  /** Notices validated on-chain whose paths are served. */
  validated: number
  /** Build and SourceAdded notices not validated yet (their epoch's claim is not accepted, or the proof is refused), re-checked on each refresh. */
  pending: number
  /** Outputs that give nothing to serve: vouchers, other notices, failed builds, version 1 (no references), SourceAdded notices refused. */
  skipped: number
  paths: number
  /** Uploaded sources whose SourceAdded notice validated on-chain and whose store path is the one its name, mode and sha256 give. */
  sources: number
  /** Paths two validated notices give different NAR hashes for: served by neither. */
  conflicts: string[]
  lastRefresh: string | null
}

/**
 * The store paths that notices validated on-chain vouch for. The node's JSON-RPC is only where
 * outputs are found: each notice is decoded from its raw bytes (not the node's decoding), and a
 * path is served only once Application.validateOutput accepts that output and its proof. Build
 * notices give NAR hashes; SourceAdded notices give uploaded sources, whose store path is
 * computed again from name, mode and sha256 and must be the notice's.
 */
export class NoticeIndex {
  readonly #node: NodeClient
  readonly #chain: Client
  readonly #application: Address
  readonly #log: (line: string) => void
  readonly #paths = new Map<string, NoticePath>()
  readonly #conflicts = new Set<string>()
  readonly #sources = new Map<string, SourcePath>()
  /** Why a path that a SourceAdded notice names is not served: refused for good. */
  readonly #refusedSources = new Map<string, string>()
  /** Why a path that a SourceAdded notice names is not served yet: rebuilt on each refresh. */
  #waitingSources = new Map<string, string>()
  /** Outputs settled for good (validated or skipped); every index below #from is. */
  readonly #settled = new Set<bigint>()
  #from = 0n
  #pending = 0
  #validated = 0
  #skipped = 0
  #lastRefresh: Date | undefined
  #refreshing: Promise<void> | undefined
  /** The node's processed input count when the last refresh began. */
  #processedBefore = 0n

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

  /** The uploaded source with this hash part, once its SourceAdded notice validated. */
  lookupSource(hash: string): SourcePath | undefined {
    return this.#sources.get(hash)
  }

  /** Why the SourceAdded notices that name this hash part do not vouch for it (not claimed, not valid, a wrong path). */
  sourceRefusal(hash: string): string | undefined {
    return this.#refusedSources.get(hash) ?? this.#waitingSources.get(hash)
  }

  status(): NoticeIndexStatus {
    return {
      validated: this.#validated,
      pending: this.#pending,
      skipped: this.#skipped,
      paths: this.#paths.size - this.#conflicts.size,
      sources: this.#sources.size,
      conflicts: [...this.#conflicts].map((h) => this.#paths.get(h)?.path ?? h),
      lastRefresh: this.#lastRefresh?.toISOString() ?? null,
    }
  }

  /**
   * Reads the outputs not yet settled and validates the build and SourceAdded notices among them.
   * Concurrent callers share one refresh; `minAgeMs` skips it when the last one is that recent,
   * unless the node has processed inputs since: their notices are read at once.
   */
  async refresh(minAgeMs = 0): Promise<void> {
    const recent = this.#lastRefresh !== undefined && Date.now() - this.#lastRefresh.getTime() < minAgeMs
    if (!this.#refreshing && recent && (await this.#processedInputs()) <= this.#processedBefore) return
    this.#refreshing ??= this.#scan().finally(() => {
      this.#refreshing = undefined
      this.#lastRefresh = new Date()
    })
    return this.#refreshing
  }

  /** How many inputs the node has processed (0 from a node that does not say). */
  async #processedInputs(): Promise<bigint> {
    const { processedInputs } = await getApplication(this.#node, { application: this.#application })
    return processedInputs ?? 0n
  }

  async #scan(): Promise<void> {
    // Read first: the outputs listed next include those of every input counted here.
    this.#processedBefore = await this.#processedInputs()
    let pending = 0
    const waiting = new Map<string, string>()
    for (let offset = Number(this.#from); ; ) {
      const { outputs, totalCount } = await listOutputs(this.#node, { application: this.#application, offset, limit: 500 })
      for (const output of outputs) {
        if (this.#settled.has(output.index)) continue
        const payload = noticePayload(output.rawData)
        const source = payload && isSourceAdded(payload) ? sourceAddedOf(payload) : undefined
        if (source) {
          const why = await this.#settleSource(output, source)
          if (why) {
            pending++
            waiting.set(hashPart(source.storePath), why)
          }
          continue
        }
        const result = payload ? buildResultOf(payload) : undefined
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
    this.#waitingSources = waiting
  }

  /**
   * Validates a SourceAdded notice and checks that its store path is the one Nix gives its name,
   * mode and sha256; settles it when it is served or refused for good. Returns why it is not
   * served yet while it may still become valid (its epoch not claimed, or the proof refused).
   */
  async #settleSource(output: NodeOutput, source: SourceAdded): Promise<string | undefined> {
    const which = `SourceAdded notice ${output.index} (input ${output.inputIndex})`
    if (!output.siblings) return `${which} names this path, but its epoch's claim is not accepted yet: it cannot be validated on-chain`
    const verdict = await validateNotice(this.#chain, { application: this.#application, output })
    if (!verdict.valid) return `${which} names this path, but does not validate on-chain: ${verdict.reason}`
    const computed = await fixedOutputPath(source).catch((error: unknown) => {
      if (error instanceof CommandFailedError) return `none (Nix refuses the name or hash: ${error.stderr.trim()})`
      throw error
    })
    this.#settled.add(output.index)
    if (computed !== source.storePath) {
      this.#skipped++
      const reason = `${which} is valid on-chain, but its store path ${source.storePath} is not the one its name, mode and sha256 give: ${computed}`
      this.#refusedSources.set(hashPart(source.storePath), reason)
      this.#log(`refused ${reason}`)
      return undefined
    }
    this.#validated++
    const { storePath: path, name, mode, sha256, size, inputIndex, uploader } = source
    this.#sources.set(hashPart(path), { path, name, mode, sha256, size, inputIndex, uploader, outputIndex: output.index })
    this.#log(`validated notice ${output.index} (input ${source.inputIndex}): uploaded source ${source.storePath}, ${source.mode} sha256 ${source.sha256}`)
    return undefined
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

/** A notice's payload from its raw output bytes, or undefined for any other output. */
function noticePayload(rawData: Hex): Hex | undefined {
  try {
    if (slice(rawData, 0, 4) !== noticeSelector) return undefined
    const [payload] = decodeAbiParameters([{ type: 'bytes' }], slice(rawData, 4))
    return payload
  } catch {
    // Not a notice at all (a voucher, or malformed bytes): nothing to serve from it.
    return undefined
  }
}

/** The BuildResult in a notice's payload, or undefined when it is some other notice. */
function buildResultOf(payload: Hex): BuildResult | undefined {
  try {
    return decodeBuildResult(payload)
  } catch {
    // Not a Cartenix build notice (an application may emit others): nothing to serve from it.
    return undefined
  }
}

/** The SourceAdded in a notice's payload (its kind is 128), or undefined when it does not decode. */
function sourceAddedOf(payload: Hex): SourceAdded | undefined {
  try {
    return decodeSourceAdded(payload)
  } catch {
    // Kind 128 but not the SourceAdded layout: another application's notice, nothing to serve from it.
    return undefined
  }
}

function pathsOf(result: BuildResult): CachePath[] {
  const outputs = result.outputs.map((o) => ({ path: o.path, narHash: o.narHash, narSize: o.narSize, references: [...(o.references ?? [])].sort(), deriver: result.drvPath }))
  const closure = (result.closure ?? []).map((c) => ({ path: c.path, narHash: c.narHash, narSize: c.narSize, references: [...c.references].sort() }))
  return [...outputs, ...closure]
}
