/** A command line the user got wrong: printed with the usage, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError' as const
}

/** A non-negative decimal (or 0x-hex) index from the command line. */
export function parseIndex(text: string | undefined, what: string): bigint {
  if (text === undefined || !/^(\d+|0x[0-9a-fA-F]+)$/.test(text)) throw new UsageError(`<${what}> must be a non-negative number`)
  return BigInt(text)
}
