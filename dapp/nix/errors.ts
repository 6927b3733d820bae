import type * as z from 'zod'
import type { missingSource } from '../protocol/reports.ts'

/** A fixed-output source as the error names it (a FixedOutput of fods.ts has these and more). */
type MissingSource = z.input<typeof missingSource>

/** The build closure needs fixed-output sources that are not in the store; nothing was built. */
export class MissingSourcesError extends Error {
  override name = 'MissingSourcesError' as const
  readonly missing: MissingSource[]
  constructor(args: { target: string; missing: MissingSource[] }) {
    const list = args.missing.map((m) => `  ${m.name} (${m.mode} sha256 ${m.sha256}) at ${m.storePath}`).join('\n')
    super(`${args.target} needs ${args.missing.length} fixed-output source(s) that are not in the store; nothing was built:\n${list}`)
    this.missing = args.missing
  }
}

/** Nix could not evaluate the request (syntax error, missing attribute, a forbidden operation). */
export class EvaluationError extends Error {
  override name = 'EvaluationError' as const
  /** What Nix said, alone (the message also names the target, which may be the whole request). */
  readonly log: string
  constructor(args: { target: string; log: string; cause?: unknown }) {
    super(`Evaluation of ${args.target} failed:\n${args.log}`, { cause: args.cause })
    this.log = args.log
  }
}

/** The builder ran and failed; `logTail` is the end of what it printed. */
export class BuildFailedError extends Error {
  override name = 'BuildFailedError' as const
  readonly logTail: string
  constructor(args: { target: string; logTail: string; cause?: unknown }) {
    super(`Build of ${args.target} failed:\n${args.logTail}`, { cause: args.cause })
    this.logTail = args.logTail
  }
}

/**
 * Built twice, the derivation gave two different outputs: a build that sees something that
 * differs between runs (randomness, the clock). Nothing is attested; `derivation` is the one
 * that differed, which may be one the target needs.
 */
export class NotReproducibleError extends Error {
  override name = 'NotReproducibleError' as const
  readonly derivation: string
  readonly logTail: string
  constructor(args: { target: string; derivation: string; logTail: string; cause?: unknown }) {
    super(`Build of ${args.target} is not reproducible: ${args.derivation} gave two different outputs, built twice\n${args.logTail}`, { cause: args.cause })
    this.derivation = args.derivation
    this.logTail = args.logTail
  }
}
