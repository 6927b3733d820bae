/**
 * The rollup HTTP API: what the back end and its rollups node say to each other (inside the
 * machine, machine-guest-tools' rollup-http-server on 127.0.0.1:5004; on the host, the dev node).
 * Both sides, and the VM's relay that watches the traffic, take every body from here.
 *
 *   POST /finish {"status":"accept"|"reject"}        → 200 the next request, or 202 nothing yet
 *   POST /notice {"payload"}                          → 201 {"index"}
 *   POST /voucher {"destination","value","payload"}   → 201 {"index"}
 *   POST /delegate-call-voucher {"destination","payload"} → 201 {"index"}
 *   POST /report {"payload"}                          → 202
 *   POST /exception {"payload"}                       → ends the input as failed
 */
import * as z from 'zod'
import { hexToBigInt, type Hex } from 'viem'
import { address, bytesHex } from './primitives.ts'

/** Inputs and outputs are each capped at 2 MiB by the machine's I/O buffers. */
export const ioBufferBytes = 2 * 1024 * 1024

/** A payload the back end sends: whole bytes, at most the I/O buffer. */
const outputPayload = bytesHex.refine((s) => (s.length - 2) / 2 <= ioBufferBytes, 'larger than the 2 MiB I/O buffer')

export const advanceRequest = z.object({
  request_type: z.literal('advance_state'),
  data: z.object({
    metadata: z.object({
      chain_id: z.number().int().nonnegative(),
      app_contract: address,
      msg_sender: address,
      block_number: z.number().int().nonnegative(),
      block_timestamp: z.number().int().nonnegative(),
      // 0x and 32 bytes from the dev node and the real node; a number from some older servers.
      prev_randao: z.union([z.string(), z.number()]),
      input_index: z.number().int().nonnegative(),
    }),
    payload: bytesHex,
  }),
})

export const inspectRequest = z.object({
  request_type: z.literal('inspect_state'),
  data: z.object({ payload: bytesHex }),
})

/** A request's type alone, for a relay that passes requests on without reading the rest. */
export const requestKind = z.object({ request_type: z.enum([advanceRequest.shape.request_type.value, inspectRequest.shape.request_type.value]) })

/** What a 200 answer to /finish carries. */
export const rollupRequest = z.discriminatedUnion('request_type', [advanceRequest, inspectRequest])
export type RollupRequest = z.infer<typeof rollupRequest>
export type AdvanceRequest = z.infer<typeof advanceRequest>
export type InspectRequest = z.infer<typeof inspectRequest>
/** A request as the node writes it (before parsing). */
export type RollupRequestBody = z.input<typeof rollupRequest>

/** The verdict on the request in flight. The one sent with the very first /finish is ignored. */
export const finishStatus = z.enum(['accept', 'reject'])
export type FinishStatus = z.infer<typeof finishStatus>
export const finishBody = z.object({ status: finishStatus })

export const payloadBody = z.object({ payload: outputPayload })
export const voucherBody = z.object({
  destination: address,
  // A uint256, as 0x-prefixed hex of at most 32 bytes.
  value: z
    .string()
    .regex(/^0x[0-9a-fA-F]{1,64}$/, 'a uint256 as 0x-prefixed hex, at most 32 bytes')
    .transform((s) => hexToBigInt(s as Hex)),
  payload: outputPayload,
})
export const delegateCallVoucherBody = z.object({ destination: address, payload: outputPayload })

/** The answer to /notice, /voucher and /delegate-call-voucher: the output's global index. */
export const outputIndexAnswer = z.object({ index: z.number().int().nonnegative() })
