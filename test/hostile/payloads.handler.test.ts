/**
 * Hostile payloads, property-based, against the back end's advance handler in-process.
 *
 * Each case goes the way an input goes in production, minus the chain: the request is served on
 * POST /finish by a real HTTP server on 127.0.0.1, fetched and parsed by the back end's own rollup
 * client, handed to handleAdvance, and every report, notice and voucher the handler sends comes
 * back over HTTP and is recorded. Every malformed request must be rejected with exactly one report
 * {"type":"rejected","reason":…} that says why, and nothing else: no notice, no voucher.
 *
 * Valid requests are never generated (they would start real Nix builds): every generated payload
 * is checked with parseBuildRequest and dropped if it parses. One valid request that Nix cannot
 * evaluate (nothing is built) is sent last: its report must keep Nix's reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { bytesToHex, concat, encodeFunctionData, type Hex } from 'viem'
import { uploadAbi, uploadSelector } from '../../dapp/protocol/sourceUpload.ts'
import { handleAdvance } from '../../dapp/handlers/advance.ts'
import { loadConfig } from '../../dapp/config.ts'
import type { BackendContext } from '../../dapp/context.ts'
import { parseBuildRequest } from '../../dapp/protocol/request.ts'
import { UploadStore } from '../../dapp/uploads.ts'
import { ResultLedger } from '../../dapp/results.ts'
import { createRollupClient } from '../../dapp/protocol/rollupClient.ts'
import type { FinishStatus } from '../../dapp/protocol/rollupHttp.ts'
import { InputNotAcceptedError } from '../../contracts-client/errors/build.ts'
import { reportsIn, startRollupRecorder, type RecordedCall, type RollupRecorder } from './rollup-recorder.ts'

const etherPortal = '0x1111111111111111111111111111111111111111' as const
const encoder = new TextEncoder()
const utf8 = (text: string) => encoder.encode(text)

let recorder: RollupRecorder
let context: BackendContext
const logLines: string[] = []
let tried = 0
let asExpected = 0
let inputIndex = 0

beforeAll(async () => {
  recorder = await startRollupRecorder()
  context = {
    rollup: createRollupClient(recorder.url),
    // The back end's own settings, as it loads them at start (defaults for everything but these two).
    config: loadConfig({ ROLLUP_HTTP_SERVER_URL: recorder.url, CARTENIX_ETHER_PORTAL: etherPortal }),
    system: 'x86_64-linux',
    results: new ResultLedger(),
    uploads: new UploadStore(),
    log: (line) => logLines.push(line),
  }
})
afterAll(async () => {
  await recorder?.close()
  console.log(`hostile payloads (in-process handler): ${tried} tried, ${asExpected} rejected with a reason, no notice, no voucher`)
})

/** One malformed request: its bytes, what kind it is, and what the reason must say. */
type Hostile = { kind: string; bytes: Uint8Array; reason: RegExp; mentions?: string }

const isValid = (bytes: Uint8Array) => parseBuildRequest(bytesToHex(bytes)).ok

/** Serves one input on /finish, hands it to handleAdvance, and returns its verdict and the calls it made. */
async function advance(payload: Hex, viaPortal: boolean): Promise<{ status: FinishStatus; calls: RecordedCall[] }> {
  const index = inputIndex++
  recorder.enqueue({
    request_type: 'advance_state',
    data: {
      metadata: {
        chain_id: 31337,
        app_contract: '0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9',
        msg_sender: viaPortal ? etherPortal : '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
        block_number: 100 + index,
        block_timestamp: 1_700_000_000 + index,
        prev_randao: `0x${index.toString(16).padStart(64, '0')}`,
        input_index: index,
      },
      payload,
    },
  })
  const request = await context.rollup.finish('accept')
  if (request?.request_type !== 'advance_state') throw new Error(`expected the queued advance request, got ${JSON.stringify(request)}`)
  const since = recorder.calls.length
  const status = await handleAdvance(context, request)
  context.results.settle(status === 'accept')
  return { status, calls: recorder.calls.slice(since) }
}

/** The report a call sent (the call must be a /report), decoded. */
const decodedReportOf = (call: RecordedCall | undefined) => {
  const [report] = reportsIn(call ? [call] : [])
  if (!report) throw new Error(`not a report: ${JSON.stringify(call)}`)
  return report
}
/** The typed report a call sent; a rejected one is what every case here expects. */
const rejectedReportOf = (call: RecordedCall | undefined, what: string) => {
  const { report, json } = decodedReportOf(call)
  if (report?.type !== 'rejected') throw new Error(`${what}: expected a rejected report, got ${JSON.stringify(json)}`)
  return report
}

/** Sends one case through /finish → handleAdvance and checks everything that came back. */
async function reject(hostile: Hostile, viaPortal: { sender: Uint8Array; value: Uint8Array } | undefined): Promise<void> {
  tried++
  const payload: Hex = viaPortal ? concat([bytesToHex(viaPortal.sender), bytesToHex(viaPortal.value), bytesToHex(hostile.bytes)]) : bytesToHex(hostile.bytes)
  const { status, calls } = await advance(payload, viaPortal !== undefined)

  const describe = `${hostile.kind}${viaPortal ? ' (via the EtherPortal)' : ''}: ${bytesToHex(hostile.bytes.slice(0, 80))}${hostile.bytes.length > 80 ? '…' : ''}`
  expect(status, describe).toBe('reject')
  expect(calls.map((c) => c.path), describe).toEqual(['/report'])
  const { reason } = rejectedReportOf(calls[0], describe)
  expect(reason.trim().length, describe).toBeGreaterThan(0)
  expect(reason, describe).toMatch(hostile.reason)
  if (hostile.mentions !== undefined) expect(reason, describe).toContain(hostile.mentions)
  expect(context.results.size, describe).toBe(0)
  // The handler logs an input only once it parses: nothing here may reach Nix.
  expect(logLines, describe).toEqual([])
  asExpected++
}

// --- Generators -------------------------------------------------------------------------------

const validRequests = [
  { attr: 'hello' },
  { attr: 'lua' },
  { expr: 'pkgs: pkgs.hello' },
  { attr: 'hello', callback: '0x00000000000000000000000000000000000c0ffe' },
] as const
const aValidRequest = fc.constantFrom(...validRequests)
const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }))
const anyJson = fc.jsonValue({ maxDepth: 4 })
const hexDigits = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), maxLength: 60 })

/** Arbitrary bytes: mostly not UTF-8; the rest mostly not JSON. */
const arbitraryBytes = fc.uint8Array({ maxLength: 2048 }).map((bytes): Hostile => ({
  kind: 'arbitrary bytes',
  bytes,
  reason: /^(payload is not valid UTF-8|payload is empty; expected a JSON build request|payload is not JSON: .+|not a build request: .+)$/s,
}))

/** A byte sequence that no UTF-8 decoder may accept, spliced into a JSON text at a code point boundary. */
const badUtf8 = fc.constantFrom(
  [0xff], [0xfe], [0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80], [0xf0, 0x9f, 0x98], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xfc, 0x84, 0x80, 0x80, 0x80, 0x80],
)
const invalidUtf8 = fc
  .tuple(fc.oneof(aValidRequest.map((r) => JSON.stringify(r)), fc.json({ maxDepth: 3 })), fc.nat(), badUtf8)
  .map(([text, at, bad]): Hostile => {
    const points = Array.from(text)
    const cut = at % (points.length + 1)
    const bytes = Uint8Array.from([...utf8(points.slice(0, cut).join('')), ...bad, ...utf8(points.slice(cut).join(''))])
    return { kind: 'invalid UTF-8', bytes, reason: /^payload is not valid UTF-8$/ }
  })

/** UTF-8 text that is not JSON: random text, valid requests cut short or with junk, JSON5-isms. */
const notJson = fc
  .oneof(
    anyString,
    fc.tuple(aValidRequest, fc.nat()).map(([r, n]) => {
      const text = JSON.stringify(r)
      return text.slice(0, n % text.length)
    }),
    fc.tuple(aValidRequest, fc.constantFrom('x', '}', ',', ']', '{', '"', '\u0000', ' 1', '//', 'null')).map(([r, junk]) => JSON.stringify(r) + junk),
    fc.constantFrom(
      "{'attr':'hello'}", '{attr:"hello"}', '{"attr":"hello",}', '{"attr":"hello"} // build it', '/* */ {"attr":"hello"}',
      'NaN', 'Infinity', 'undefined', '{"attr":undefined}', '{"attr":"hel\nlo"}', '{"attr":"\\x41"}', '{"attr":"\\u12"}', '01', '.5', '+1',
    ),
  )
  .filter((text) => {
    try {
      JSON.parse(text)
      return false
    } catch {
      return true
    }
  })
  .map((text): Hostile => ({ kind: 'not JSON', bytes: utf8(text), reason: /^(payload is not JSON: .+|payload is empty; expected a JSON build request)$/s }))

/** Well-formed JSON that is not an object: arrays, strings, numbers, booleans, null. */
const jsonNotObject = fc
  .oneof(anyJson, fc.array(aValidRequest, { minLength: 1, maxLength: 3 }), aValidRequest.map((r) => JSON.stringify(r)), fc.constantFrom(null, true, false, 0, -1, 1e308, 'hello'))
  .filter((value) => value === null || typeof value !== 'object' || Array.isArray(value))
  .map((value): Hostile => ({ kind: 'JSON that is not an object', bytes: utf8(JSON.stringify(value)), reason: /^not a build request: Invalid input: expected object, received \S+$/ }))

/** JSON objects of any shape that happen not to be build requests. */
const objectsNotRequests = fc
  .dictionary(fc.oneof(anyString, fc.constantFrom('attr', 'expr', 'callback')), anyJson, { maxKeys: 6 })
  .map((object): Hostile => ({ kind: 'an object that is not a request', bytes: utf8(JSON.stringify(object)), reason: /^not a build request: .+/s }))

/** A valid request plus keys it does not know (written out by hand, so "__proto__" is a real key). */
const knownKeys = new Set(['attr', 'expr', 'callback'])
const extraKey = fc.oneof(anyString, fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'Attr', 'ATTR', 'attr ', ' attr', 'expr\u0000', 'callBack', 'value', 'system', '\ud800', 'attr\udfff', '')).filter((k) => !knownKeys.has(k))
const extraKeys = fc
  .tuple(aValidRequest, fc.array(fc.tuple(extraKey, anyJson), { minLength: 1, maxLength: 4 }))
  .map(([request, extras]): Hostile => {
    const members = [...Object.entries(request), ...extras].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
    return {
      kind: 'unknown fields',
      bytes: utf8(`{${members.join(',')}}`),
      reason: /^not a build request: Unrecognized keys?: .+/s,
      mentions: extras[0]?.[0],
    }
  })

/** Fields of the wrong type, empty or oversized values, and "exactly one of attr or expr" broken. */
const nonString = anyJson.filter((v) => typeof v !== 'string')
const wrongTypes = fc
  .oneof(
    nonString.map((attr) => ({ attr })),
    nonString.map((expr) => ({ expr })),
    nonString.map((callback) => ({ attr: 'hello', callback })),
    fc.constant({ expr: '' }),
    fc.integer({ min: 32_769, max: 40_000 }).map((n) => ({ expr: `pkgs: ${'x'.repeat(n - 6)}` })),
    fc.integer({ min: 257, max: 1000 }).map((n) => ({ attr: 'a'.repeat(n) })),
    fc.constant({}),
    fc.constant({ callback: '0x00000000000000000000000000000000000c0ffe' }),
    fc.constant({ attr: 'hello', expr: 'pkgs: pkgs.hello' }),
    fc.constant({ attr: null }),
    fc.constant({ attr: 'hello', expr: null }),
  )
  .map((object): Hostile => ({ kind: 'wrong types', bytes: utf8(JSON.stringify(object)), reason: /^not a build request: .+/s }))

/** attr strings that are not attribute paths. */
const attrPathChars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_\'-.'
const attrNotPath = fc
  .oneof(
    anyString,
    fc.tuple(fc.constantFrom('hello', 'lua', 'pkgs.hello', 'a.b.c'), fc.nat(), fc.constantFrom(' ', '/', '"', '$', '{', '}', ';', '\n', '\t', '\u0000', 'é', 'λ', '..', ':', '(', '*', '\\', '`', '${x}')).map(
      ([path, at, bad]) => path.slice(0, at % (path.length + 1)) + bad + path.slice(at % (path.length + 1)),
    ),
    fc.constantFrom('', '.', '..', '.hello', 'hello.', 'hello..lua', '1hello', '-hello', "'hello", '../etc', '/nix/store', 'hello lua', 'pkgs: pkgs.hello', '--expr', 'hel\ud800lo', '\udc00'),
    fc.string({ unit: fc.constantFrom(...attrPathChars), minLength: 257, maxLength: 400 }),
  )
  .map((attr): Hostile => ({ kind: 'attr that is not an attribute path', bytes: utf8(JSON.stringify({ attr })), reason: /^not a build request: attr: .+/s }))

/** callback strings that are not addresses. */
const callbackNotAddress = fc
  .oneof(
    anyString,
    hexDigits.map((h) => `0x${h}`),
    hexDigits.map((h) => `0x${h.padEnd(40, '0').slice(0, 40)}`.replace(/^0x/, '0X')),
    fc.constantFrom(
      '', '0x', '0x0', `0x${'0'.repeat(39)}`, `0x${'0'.repeat(41)}`, `0x${'g'.repeat(40)}`, '0'.repeat(40), '0'.repeat(42),
      `0x${'0'.repeat(40)}\n`, ` 0x${'0'.repeat(40)}`, `0x${'0'.repeat(40)} `, `0x${'0'.repeat(38)}é`, 'vitalik.eth', `0x${'0'.repeat(64)}`,
    ),
  )
  .map((callback): Hostile => ({ kind: 'callback that is not an address', bytes: utf8(JSON.stringify({ attr: 'hello', callback })), reason: /^not a build request: callback: .+/s }))

/** Deep nesting: tens of thousands of levels, as the whole payload, in a field, in an unknown key. */
const nest = (depth: number, open: string, close: string, inner = '0') => open.repeat(depth) + inner + close.repeat(depth)
const deepNesting = fc
  .tuple(fc.integer({ min: 1_000, max: 120_000 }), fc.constantFrom('arrays', 'objects', 'attr', 'callback', 'unknown key'))
  .map(([depth, where]): Hostile => {
    const text =
      where === 'arrays' ? nest(depth, '[', ']')
        : where === 'objects' ? nest(depth, '{"attr":', '}', '"hello"')
          : where === 'attr' ? `{"attr":${nest(depth, '[', ']')}}`
            : where === 'callback' ? `{"attr":"hello","callback":${nest(depth, '{"a":', '}')}}`
              : `{"attr":"hello","deep":${nest(depth, '[', ']')}}`
    return { kind: `${depth} nested levels (${where})`, bytes: utf8(text), reason: /^not a build request: .+/s }
  })

/**
 * Source-upload chunks that are refused before the store is asked: the selector and junk, or a
 * chunk with one bad field (the others fine: 4 bytes, 1 chunk, index 0, a valid name).
 */
const hexToUint8 = (hex: Hex) => Uint8Array.from(Buffer.from(hex.slice(2), 'hex'))
const uploadJunk = fc.uint8Array({ maxLength: 600 }).map((tail): Hostile => ({
  kind: 'upload selector then junk',
  bytes: hexToUint8(concat([uploadSelector, bytesToHex(tail)])),
  reason: /^not an upload chunk: .+/s,
}))
const badStoreName = fc.oneof(fc.constant(''), fc.constant('.hidden'), fc.constant('x'.repeat(212)), fc.string({ minLength: 1 }).filter((n) => !/^[A-Za-z0-9+\-_?=][A-Za-z0-9+\-._?=]{0,210}$/.test(n)))
const badChunk = fc
  .oneof(
    badStoreName.map((name) => ({ field: 'name', name, mode: 0, size: 4n, index: 0, count: 1, length: 4, reason: /^not an upload chunk: name: / })),
    fc.integer({ min: 2, max: 255 }).map((mode) => ({ field: 'mode', name: 'a.tar.gz', mode, size: 4n, index: 0, count: 1, length: 4, reason: /^not an upload chunk: mode: / })),
    fc.integer({ min: 1, max: 2 ** 32 - 1 }).map((index) => ({ field: 'index', name: 'a.tar.gz', mode: 0, size: 4n, index, count: 1, length: 4, reason: /^chunk \d+ is out of range/ })),
    fc.bigInt({ min: 64n * 2n ** 20n + 1n, max: 2n ** 64n - 1n }).map((size) => ({ field: 'size', name: 'a.tar.gz', mode: 0, size, index: 0, count: 1, length: 4, reason: /^source too large: / })),
    fc.integer({ min: 0, max: 600 }).filter((l) => l !== 4).map((length) => ({ field: 'length', name: 'a.tar.gz', mode: 0, size: 4n, index: 0, count: 1, length, reason: /^chunk 0 has \d+ bytes/ })),
  )
  .map((c): Hostile => ({
    kind: `upload chunk with a bad ${c.field}`,
    bytes: hexToUint8(encodeFunctionData({ abi: uploadAbi, functionName: 'cartenixUpload', args: [c.name, c.mode, `0x${'ab'.repeat(32)}`, c.size, c.index, c.count, bytesToHex(new Uint8Array(c.length))] })),
    reason: c.reason,
  }))

/** Through the EtherPortal: sender[20] ‖ value[32] come first; the back end takes them off. */
const portal = fc.option(fc.record({ sender: fc.uint8Array({ minLength: 20, maxLength: 20 }), value: fc.uint8Array({ minLength: 32, maxLength: 32 }) }), { freq: 4 })

const categories: [string, fc.Arbitrary<Hostile>, number][] = [
  ['arbitrary bytes', arbitraryBytes, 60],
  ['invalid UTF-8', invalidUtf8, 50],
  ['text that is not JSON', notJson, 50],
  ['JSON that is not an object', jsonNotObject, 40],
  ['objects that are not requests', objectsNotRequests, 40],
  ['unknown fields', extraKeys, 50],
  ['wrong types', wrongTypes, 50],
  ['attr strings that are not attribute paths', attrNotPath, 60],
  ['callback strings that are not addresses', callbackNotAddress, 50],
  ['deep nesting', deepNesting, 20],
  ['upload chunks that are not chunks', uploadJunk, 30],
  ['upload chunks with a bad field', badChunk, 50],
]

describe('hostile payloads, in-process: every malformed request is rejected with one report that says why', () => {
  for (const [name, arbitrary, numRuns] of categories) {
    it(`${name} (${numRuns} generated)`, async () => {
      await fc.assert(
        fc.asyncProperty(
          arbitrary.filter((h) => !isValid(h.bytes)),
          portal,
          async (hostile, viaPortal) => reject(hostile, viaPortal ?? undefined),
        ),
        { numRuns },
      )
    })
  }

  it('fixed cases: empty, 100 000 nested arrays, the largest payload InputBox takes, short EtherPortal payloads', async () => {
    const largest = 65_216
    const fixed: Hostile[] = [
      { kind: 'empty', bytes: new Uint8Array(0), reason: /^payload is empty; expected a JSON build request$/ },
      { kind: '100 000 nested arrays', bytes: utf8(nest(100_000, '[', ']', '')), reason: /^not a build request: Invalid input: expected object, received array$/ },
      { kind: '100 000 nested objects', bytes: utf8(nest(100_000, '{"a":', '}', '1')), reason: /^not a build request: .*Unrecognized key: "a"/s },
      { kind: '100 000 unclosed arrays', bytes: utf8('['.repeat(100_000)), reason: /^payload is not JSON: .+/s },
      {
        kind: `expr of ${largest - '{"expr":""}'.length} characters (${largest} bytes, the InputBox maximum)`,
        bytes: utf8(`{"expr":"${'x'.repeat(largest - '{"expr":""}'.length)}"}`),
        reason: /^not a build request: expr: Too big: expected string to have <=32768 characters$/,
      },
      { kind: 'a byte-order mark then junk', bytes: Uint8Array.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), reason: /^payload is not JSON: .+/s },
      { kind: 'UTF-16 with a BOM', bytes: Uint8Array.from([0xff, 0xfe, ...Array.from(Buffer.from('{"attr":"hello"}', 'utf16le'))]), reason: /^payload is not valid UTF-8$/ },
      { kind: 'one NUL byte', bytes: Uint8Array.from([0]), reason: /^payload is not JSON: .+/s },
    ]
    for (const hostile of fixed) {
      expect(isValid(hostile.bytes), hostile.kind).toBe(false)
      await reject(hostile, undefined)
    }
    // An EtherPortal input is sender[20] ‖ value[32] ‖ request: with nothing after the prefix, or less
    // than a whole prefix, the request is empty.
    for (const length of [0, 1, 19, 20, 51, 52]) {
      const prefix = new Uint8Array(length).fill(0xaa)
      await reject({ kind: `${length} bytes from the EtherPortal`, bytes: new Uint8Array(0), reason: /^payload is empty; expected a JSON build request$/ }, {
        sender: prefix.slice(0, Math.min(20, length)),
        value: prefix.slice(Math.min(20, length)),
      })
    }
  })
})

describe('a request Nix cannot evaluate, written on one long line', () => {
  it("is rejected with a report whose log keeps Nix's error: line and position, which `cartenix build` prints", async () => {
    tried++
    // Nix echoes the whole 10 800-character line and a caret under its end: a plain tail of the
    // message was that, and no reason.
    const expr = `pkgs: ${'pkgs.lib.id '.repeat(900)}undefinedVar`
    const payload = bytesToHex(utf8(JSON.stringify({ expr })))
    try {
      const { status, calls } = await advance(payload, false)
      expect(status).toBe('reject')
      expect(calls.map((c) => c.path)).toEqual(['/report'])
      const report = rejectedReportOf(calls[0], 'the long line')
      expect(report).toMatchObject({ type: 'rejected', reason: 'evaluation failed' })
      const log = String(report.log)
      expect(log).toContain("error: undefined variable 'undefinedVar'")
      expect(log).toMatch(new RegExp(`at /nix/store/[0-9a-z]{32}-cartenix-request\\.nix:1:${expr.indexOf('undefinedVar') + 1}:`))
      expect(Buffer.byteLength(log)).toBeLessThanOrEqual(context.config.logTailBytes)
      // What `cartenix build` prints for an input that was not accepted: each report's reason and log.
      const printed = new InputNotAcceptedError({ inputIndex: 0n, status: 'REJECTED', reports: [decodedReportOf(calls[0])] }).message
      expect(printed).toContain("evaluation failed: error: undefined variable 'undefinedVar'")
      expect(printed).toContain("error: undefined variable 'undefinedVar'")
      expect(context.results.size).toBe(0)
      asExpected++
    } finally {
      // The handler logged the input, which reached Nix; the cases above expect no log.
      logLines.splice(0)
    }
  }, 120_000)
})
