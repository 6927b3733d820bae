import { CartenixError } from '../../dapp/lib/errors.ts'

/** The key file is not what `nix-store --generate-binary-cache-key` writes. */
export class SigningKeyError extends CartenixError {
  override name = 'SigningKeyError' as const
  constructor(args: { file: string; problem: string; cause?: unknown }) {
    super(`Cannot use ${args.file} as a binary cache signing key: ${args.problem}`, { details: 'Make one with: nix-store --generate-binary-cache-key NAME secret.key public.key', cause: args.cause })
  }
}

/** The upstream could not give the NAR of a path (unreachable, missing, malformed). */
export class UpstreamError extends CartenixError {
  override name = 'UpstreamError' as const
  readonly storePath: string
  constructor(args: { storePath: string; upstream: string; problem: string; cause?: unknown }) {
    super(`The upstream ${args.upstream} did not give the NAR of ${args.storePath}: ${args.problem}`, { cause: args.cause })
    this.storePath = args.storePath
  }
}

/** The upstream's NAR is not the one the chain (or a locked fixed hash) vouches for: never served. */
export class NarMismatchError extends CartenixError {
  override name = 'NarMismatchError' as const
  readonly storePath: string
  constructor(args: { storePath: string; expected: string; got: string; what: string }) {
    super(`The upstream's NAR of ${args.storePath} is not the validated one: ${args.what} is ${args.got}, expected ${args.expected}`)
    this.storePath = args.storePath
  }
}
