import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadSettings, SettingsError } from './settings.ts'

/** A real HTTP server: /with/config.json answers `config`, /broken/ a config that does not parse, anything else 404. */
let server: Server
let origin: string
let config: unknown = {}
beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === '/with/config.json') return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(config))
    if (request.url === '/broken/config.json') return response.writeHead(200, { 'content-type': 'application/json' }).end('{"pageSize":"ten"}')
    response.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise((resolve) => server.close(resolve)))

const at = (href: string) => ({ href }) as Location
const app = `0x${'ab'.repeat(20)}`

describe('loadSettings', () => {
  it("without config.json: the node is the page's origin, inspect beside it, the chain on 8545", async () => {
    expect(await loadSettings(at(`${origin}/plain/index.html`))).toEqual({
      nodeUrl: origin,
      inspectUrl: `${origin}/inspect`,
      chainUrl: 'http://127.0.0.1:8545',
      application: undefined,
      etherPortal: undefined,
      pageSize: 10,
    })
  })

  it('reads config.json beside the page, resolves its relative URLs there, and lets the query win', async () => {
    config = { nodeUrl: 'node/', chainUrl: 'http://127.0.0.1:1234', application: app, pageSize: 5 }
    const fromFile = await loadSettings(at(`${origin}/with/index.html`))
    expect(fromFile).toMatchObject({ nodeUrl: `${origin}/with/node`, inspectUrl: `${origin}/with/node/inspect`, chainUrl: 'http://127.0.0.1:1234', application: app, pageSize: 5 })
    const query = new URLSearchParams({ node: 'http://node.example:10011', inspect: 'http://node.example:10012/inspect', app: 'cartenix', pageSize: '2' })
    expect(await loadSettings(at(`${origin}/with/index.html?${query}#/input/3`))).toMatchObject({
      nodeUrl: 'http://node.example:10011',
      inspectUrl: 'http://node.example:10012/inspect',
      chainUrl: 'http://127.0.0.1:1234',
      application: 'cartenix',
      pageSize: 2,
    })
  })

  it('refuses settings that do not parse, naming the setting', async () => {
    await expect(loadSettings(at(`${origin}/plain/?app=Not%20An%20App`))).rejects.toThrow(SettingsError)
    await expect(loadSettings(at(`${origin}/plain/?portal=0x12`))).rejects.toThrow(/etherPortal: an address/)
    await expect(loadSettings(at(`${origin}/plain/?chain=ftp://x`))).rejects.toThrow(/chainUrl/)
    await expect(loadSettings(at(`${origin}/broken/`))).rejects.toThrow(/config.json is not valid: pageSize/)
  })
})
