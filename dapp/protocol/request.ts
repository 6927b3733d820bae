/**
 * Build requests: the payload of an advance input, UTF-8 JSON. Exactly one of
 *   {"attr": "hello"}                          an attribute path of the image's package set
 *   {"expr": "pkgs: pkgs.lua"}                 a Nix function of the package set
 * and optionally "callback": "0x…" (a contract that gets the result through a voucher).
 * A payload that starts with the upload selector is a source chunk instead (ABI, not JSON):
 * dapp/protocol/sourceUpload.ts, handled by dapp/handlers/upload.ts.
 */
import * as z from 'zod'
import { hexToBytes, toHex, type Address, type Hex } from 'viem'
import { addressPattern } from './primitives.ts'

const attrPath = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z_][A-Za-z0-9_'-]*(\.[A-Za-z_][A-Za-z0-9_'-]*)*$/, 'an attribute path such as "hello" or "lua"')

export const buildRequestSchema = z
  .strictObject({
    attr: attrPath.optional(),
    expr: z.string().min(1).max(32_768).optional(),
    callback: z
      .string()
      .regex(addressPattern, 'a contract address, 0x and 40 hex digits')
      .transform((s) => s as Address)
      .optional(),
  })
  .refine((r) => (r.attr === undefined) !== (r.expr === undefined), { message: 'give exactly one of "attr" or "expr"' })

/** What to build: an attribute of the package set, or a Nix function of it. */
export type BuildTarget = { attr: string } | { expr: string }

export type BuildRequest = { target: BuildTarget; callback?: Hex }

/** A build request as a client writes it: exactly one of attr and expr, and optionally a callback. */
export type BuildRequestJson = ({ attr: string; expr?: never } | { expr: string; attr?: never }) & { callback?: Address }

/** The input payload of a build request: its JSON as UTF-8. */
export function encodeBuildRequest(request: BuildRequestJson): Hex {
  return toHex(JSON.stringify(request))
}

export type RequestParseResult = { ok: true; request: BuildRequest } | { ok: false; reason: string }

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Parses an input payload; a malformed one yields a reason fit for a report, never a throw. */
export function parseBuildRequest(payload: Hex): RequestParseResult {
  let text: string
  try {
    text = utf8.decode(hexToBytes(payload))
  } catch {
    return { ok: false, reason: 'payload is not valid UTF-8' }
  }
  if (text.length === 0) return { ok: false, reason: 'payload is empty; expected a JSON build request' }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return { ok: false, reason: `payload is not JSON: ${(error as Error).message}` }
  }
  const parsed = buildRequestSchema.safeParse(json)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    return { ok: false, reason: `not a build request: ${problems.join('; ')}` }
  }
  const { attr, expr, callback } = parsed.data
  const target: BuildTarget = attr !== undefined ? { attr } : { expr: expr ?? '' }
  return { ok: true, request: callback ? { target, callback } : { target } }
}

/**
 * The bytes of a build request. An input the EtherPortal added is `sender[20] ‖ value[32] ‖
 * request`; any other input is the request itself. A notice's requestHash is keccak256 of these.
 */
export function requestBytes(input: { payload: Hex; sender?: string }, etherPortal?: string): Hex {
  if (!etherPortal || input.sender?.toLowerCase() !== etherPortal.toLowerCase()) return input.payload
  return `0x${input.payload.slice(2 + 2 * (20 + 32))}`
}
