import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, http } from 'viem'
import { beforeAll, describe, expect, it } from 'vitest'
import { runNix } from '../../dapp/nix/env.ts'
import { createNodeClient } from '../node/client.ts'
import { lockedFixedPaths } from './fixed.ts'
import { hashPart } from './narinfo.ts'
import { NoticeIndex } from './notices.ts'
import { createCacheApp } from './server.ts'
import { loadSigner } from './signing.ts'
import { parseUpstream } from './upstream.ts'

let app: ReturnType<typeof createCacheApp>['app']
let log: string[]
let fixed: Awaited<ReturnType<typeof lockedFixedPaths>>

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cartenix-cache-unit-'))
  await runNix('nix-store', ['--generate-binary-cache-key', 'unit-1', join(dir, 'secret'), join(dir, 'public')])
  // Nothing listens on port 9: the node and the chain are unreachable.
  const notices = new NoticeIndex({ node: createNodeClient({ url: 'http://127.0.0.1:9/rpc' }), chain: createPublicClient({ transport: http('http://127.0.0.1:9') }), application: `0x${'11'.repeat(20)}` })
  fixed = await lockedFixedPaths()
  log = []
  // An empty store as the upstream: it has none of the paths asked for.
  const upstream = parseUpstream(`store:local?root=${join(dir, 'empty-store')}`)
  if (!upstream) throw new Error('upstream not parsed')
  app = createCacheApp({ notices, fixed, upstream, signer: await loadSigner(join(dir, 'secret')), spoolDir: dir, log: (line) => log.push(line) }).app
})

describe('the cache gateway, failing requests', () => {
  it('404s names that are not narinfo or NAR names', async () => {
    for (const path of ['/x.narinfo', '/nar/x.nar', `/${'e'.repeat(32)}.narinfo`, '/nar/', '/nope']) expect((await app.request(path)).status).toBe(404)
  })

  it('answers 500 with the reason when the node cannot be reached, and keeps serving', async () => {
    const response = await app.request(`/${'0'.repeat(32)}.narinfo`)
    expect(response.status).toBe(500)
    expect(await response.text()).toMatch(/127\.0\.0\.1:9/)
    expect(log.at(-1)).toMatch(/^error on GET \/0{32}\.narinfo: /)
    expect((await app.request('/nix-cache-info')).status).toBe(200)
  })

  it('answers 502 when the upstream lacks a locked fixed-output path, naming the upstream', async () => {
    const [first] = fixed.values()
    if (!first) throw new Error('no locked fixed-output path')
    const response = await app.request(`/${hashPart(first.path)}.narinfo`)
    expect(response.status).toBe(502)
    expect(await response.text()).toContain(`The upstream store:local?root=`)
    expect(log.at(-1)).toContain(`refused /${hashPart(first.path)}.narinfo: The upstream`)
  })
})
