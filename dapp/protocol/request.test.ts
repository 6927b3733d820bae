import { describe, expect, it } from 'vitest'
import { toHex } from 'viem'
import { parseBuildRequest } from './request.ts'

const parse = (text: string) => parseBuildRequest(toHex(text))

describe('parseBuildRequest', () => {
  it('accepts an attribute, an expression, and a callback', () => {
    expect(parse('{"attr":"hello"}')).toEqual({ ok: true, request: { target: { attr: 'hello' } } })
    expect(parse('{"expr":"pkgs: pkgs.lua"}')).toEqual({ ok: true, request: { target: { expr: 'pkgs: pkgs.lua' } } })
    const callback = '0x' + '12'.repeat(20)
    expect(parse(`{"attr":"hello","callback":"${callback}"}`)).toEqual({ ok: true, request: { target: { attr: 'hello' }, callback } })
  })

  it.each([
    ['0x', 'payload is empty'],
    ['0xff', 'not valid UTF-8'],
    [toHex('{"attr":'), 'not JSON'],
    [toHex('[1,2]'), 'not a build request'],
    [toHex('"hello"'), 'not a build request'],
    [toHex('{}'), 'exactly one of "attr" or "expr"'],
    [toHex('{"attr":"hello","expr":"pkgs: pkgs.hello"}'), 'exactly one of "attr" or "expr"'],
    [toHex('{"attr":"hello","extra":1}'), 'extra'],
    [toHex('{"attr":42}'), 'attr'],
    [toHex('{"attr":"../etc"}'), 'attribute path'],
    [toHex('{"attr":"hello","callback":"0x12"}'), 'callback'],
  ])('rejects %s with a reason (%s)', (payload, reason) => {
    const result = parseBuildRequest(payload as `0x${string}`)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.reason).toContain(reason)
  })
})
