/**
 * The base of every error the client library throws: a one-line `shortMessage`, optional
 * `details`, and the original error as `cause`. Subclasses set a literal `name` to branch on.
 */
export class CartenixError extends Error {
  override name: string = 'CartenixError'
  readonly shortMessage: string
  readonly details: string | undefined
  constructor(shortMessage: string, options: { details?: string; cause?: unknown } = {}) {
    super(options.details ? `${shortMessage}\n\n${options.details}` : shortMessage, { cause: options.cause })
    this.shortMessage = shortMessage
    this.details = options.details
  }
}
