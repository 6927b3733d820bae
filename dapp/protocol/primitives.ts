/**
 * The values every wire format is made of, parsed once: hex bytes, addresses, 32-byte hashes and
 * hex quantities. Each schema checks the text and gives viem's types; nothing is cast elsewhere.
 */
import * as z from 'zod'
import type { Address, Hex } from 'viem'

export const addressPattern = /^0x[0-9a-fA-F]{40}$/

/** 0x and any number of hex digits, as the node's JSON-RPC writes bytes; lower-cased. */
export const hex = z
  .string()
  .regex(/^0x[0-9a-fA-F]*$/, 'a 0x-prefixed hex string')
  .transform((s) => s.toLowerCase() as Hex)

/** 0x and whole bytes, as the rollup HTTP API carries payloads. */
export const bytesHex = z
  .string()
  .regex(/^0x([0-9a-fA-F]{2})*$/, 'an even-length 0x-prefixed hex string')
  .transform((s) => s as Hex)

/** An address, 0x and 40 hex digits, in the letter case it came in. */
export const address = z
  .string()
  .regex(addressPattern, 'an address, 0x and 40 hex digits')
  .transform((s) => s as Address)

/** A 32-byte hash (keccak256, an outputs Merkle root, a transaction hash); lower-cased. */
export const hash = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte hash, 0x and 64 hex digits')
  .transform((s) => s.toLowerCase() as Hex)

/** A non-negative integer as 0x-prefixed hex (the node's JSON-RPC), read as a bigint. */
export const quantity = z
  .string()
  .regex(/^0x[0-9a-fA-F]+$/, 'a 0x-prefixed hex quantity')
  .transform((s) => BigInt(s))

/** A number or bigint written as the node writes quantities: 0x and hex digits, no leading zeros. */
export const toQuantity = (n: bigint | number): Hex => `0x${n.toString(16)}`

/** A sha256 as 64 lowercase hex digits (how locks, uploads and reports write a source's hash). */
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 as 64 lowercase hex digits')

/** Nix's rule for store path names: these characters, not starting with a dot, at most 211. */
export const storePathName = z
  .string()
  .regex(/^[A-Za-z0-9+\-_?=][A-Za-z0-9+\-._?=]{0,210}$/, 'a store path name (letters, digits, +-._?=, not starting with a dot, at most 211)')

export const storePath = z.string().regex(/^\/nix\/store\/[0-9a-z]{32}-[^/]+$/, 'a store path')
export const drvPath = z.string().regex(/^\/nix\/store\/[0-9a-z]{32}-[^/]+\.drv$/, 'a .drv store path')

/** A source's hash mode: the file's bytes (flat) or its NAR serialisation (recursive). */
export const sourceMode = z.enum(['flat', 'recursive'])
export type SourceMode = z.infer<typeof sourceMode>
