/**
 * The web page in a real browser (Debian's chromium, driven by playwright-core) against a real
 * devnet: anvil with the rollups contracts, the dev node, the back end and Nix. A screenshot of
 * each state goes to .cartenix/web-screenshots/.
 */
import { access, mkdir, mkdtemp, readFile, stat } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createWalletClient, http, type Address } from 'viem'
import { anvil } from 'viem/chains'
import { deployRegistry } from '../../contracts-client/actions/deployRegistry.ts'
import { getApplication } from '../../contracts-client/actions/getApplication.ts'
import { inspectState } from '../../contracts-client/actions/inspectState.ts'
import { listInputs } from '../../contracts-client/actions/listInputs.ts'
import { waitForProof } from '../../contracts-client/actions/waitForProof.ts'
import { NodeUnreachableError } from '../../contracts-client/errors/node.ts'
import { createNodeClient } from '../../contracts-client/node/client.ts'
import { repoRoot, runNix } from '../../dapp/nix/env.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { exec } from '../../scripts/lib/exec.ts'
import { clients, startTestDevnet } from '../harness/devnet.ts'

const chromiumPath = process.env.CARTENIX_CHROMIUM ?? '/usr/bin/chromium'
const screenshots = join(repoRoot, '.cartenix', 'web-screenshots')

let devnet: Devnet
let browser: Browser
let registry: Address
let pageUrl: string

beforeAll(async () => {
  await access(chromiumPath).catch(() => {
    throw new Error(`No browser at ${chromiumPath}: run \`npm run setup\` (it installs Debian's chromium) or set CARTENIX_CHROMIUM`)
  })
  await mkdir(screenshots, { recursive: true })
  devnet = await startTestDevnet({ page: true })
  pageUrl = devnet.pageUrl ?? ''
  ;({ address: registry } = await deployRegistry(clients(devnet).walletClient, { application: devnet.deployment.application }))
  // Running as root (as CI does), chromium needs its own sandbox off.
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
})
afterAll(async () => {
  await browser?.close()
  await devnet?.stop()
})

/** Uncaught errors in any page of the current test: each test ends with none. */
let pageErrors: string[] = []
afterEach(() => {
  const errors = pageErrors
  pageErrors = []
  expect(errors, 'uncaught errors in the page').toEqual([])
})

async function open(url: string, options: { wallet?: boolean } = {}): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
  page.on('pageerror', (error) => pageErrors.push(error.message))
  if (options.wallet) await page.addInitScript(injectWallet, devnet.chainUrl)
  await page.goto(url)
  return page
}

/**
 * An EIP-1193 wallet in the page, as a browser extension injects one: it hands out anvil's third
 * development account and passes every request to the chain, where anvil signs for it.
 */
function injectWallet(chainUrl: string): void {
  let id = 0
  const call = async (method: string, params?: unknown) => {
    const response = await fetch(chainUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params: params ?? [] }) })
    const body = (await response.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } }
    if (body.error) throw Object.assign(new Error(body.error.message), body.error)
    return body.result
  }
  const request = async ({ method, params }: { method: string; params?: unknown }) =>
    method === 'eth_requestAccounts' ? ((await call('eth_accounts')) as string[]).slice(2, 3) : call(method, params)
  Object.assign(window, { ethereum: { request, on() {}, removeListener() {} } })
}

const shoot = (page: Page, name: string) => page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true })
const text = async (page: Page, selector: string) => (await page.locator(selector).first().textContent())?.trim() ?? ''

describe('the web page against a devnet', () => {
  it('connects: chain, application, template hash, node, and the development account marked as such', async () => {
    const page = await open(pageUrl)
    await page.locator('#account-kind').waitFor()
    expect(await text(page, '#account-kind')).toContain("anvil's development account")
    expect(await text(page, '#application')).toBe(devnet.deployment.application)
    expect((await text(page, '#template-hash')).toLowerCase()).toBe(devnet.deployment.templateHash.toLowerCase())
    expect(await text(page, '#chain')).toContain('31337')
    expect(await text(page, '#node-url')).toBe(devnet.nodeUrl)
    await page.locator('#attr option[value="hello"]').waitFor({ state: 'attached' })
    const connectedAt = await page.evaluate(() => performance.now())
    const firstPaint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime)
    console.log(`web page: first contentful paint ${firstPaint?.toFixed(0)} ms; connected, attributes listed by ${connectedAt.toFixed(0)} ms`)
    expect(firstPaint).toBeGreaterThan(0)
    await shoot(page, '1-connected')
    await page.close()
  })

  it('requests hello, follows it, shows its notice, validates it on-chain and executes its voucher to the registry', async () => {
    const page = await open(pageUrl)
    await page.locator('#attr option[value="hello"]').waitFor({ state: 'attached' })
    await page.selectOption('#attr', 'hello')
    await page.fill('#callback', registry)
    await shoot(page, '2-request')
    await page.click('#submit')
    await page.waitForURL(/#\/input\/\d+$/)
    // The node has seen the input once the page shows its request.
    await page.locator('#request-text').waitFor({ timeout: 60_000 })
    await shoot(page, '3-following')
    await page.locator('#build-outcome').waitFor({ timeout: 10 * 60_000 })
    expect(await text(page, '#status')).toBe('ACCEPTED')
    expect(await text(page, '#build-outcome')).toBe('built')
    expect(await text(page, '#request-text')).toBe(`{"attr":"hello","callback":"${registry}"}`)
    expect(await text(page, '#drv-path')).toMatch(/^\/nix\/store\/[0-9a-z]{32}-hello-2\.10\.drv$/)
    const path = await text(page, '#outputs .path')
    // The page's nix32 is Nix's own: compare with what the store says of the same path.
    const { stdout } = await runNix('nix-store', ['--query', '--hash', path])
    expect(await text(page, '#outputs .nar-nix32')).toBe(stdout.trim())
    await shoot(page, '4-built')
    await page.locator('#validated').waitFor({ timeout: 5 * 60_000 })
    expect(await text(page, '#validated')).toMatch(/^validated on-chain: Application\.validateOutput accepted output \d+ against the claim of epoch \d+$/)
    await shoot(page, '5-validated')
    await page.locator('#execute-voucher').waitFor({ timeout: 5 * 60_000 })
    await page.click('#execute-voucher')
    await page.locator('#registry-record').waitFor({ timeout: 60_000 })
    expect(await text(page, '#registry-record')).toContain(await text(page, '#drv-path'))
    expect(await text(page, '#registry-outputs .nar-hex')).toBe(await text(page, '#outputs .nar-hex'))
    await shoot(page, '6-voucher-executed')
    await page.close()
  })

  it("sends from the browser's own wallet with Ether through the EtherPortal; shows a malformed expression's rejection with the back end's reason and log", async () => {
    const page = await open(pageUrl, { wallet: true })
    await page.click('#connect-wallet')
    await page.locator('#account-kind').waitFor()
    expect(await text(page, '#account-kind')).toBe('your wallet')
    const [, , walletAccount] = await createWalletClient({ chain: anvil, transport: http(devnet.chainUrl) }).getAddresses()
    expect((await text(page, '#account')).toLowerCase()).toBe(walletAccount?.toLowerCase())
    await page.locator('#attr option[value="hello"]').waitFor({ state: 'attached' })
    await page.click('#kind-expr')
    await page.fill('#expr', 'pkgs: pkgs.hello (')
    await page.fill('#value', '0.001')
    await page.click('#submit')
    await page.locator('#not-accepted').waitFor({ timeout: 5 * 60_000 })
    expect(await text(page, '#status')).toBe('REJECTED')
    expect(await text(page, '#request-text')).toBe('{"expr":"pkgs: pkgs.hello ("}')
    await page.locator('#deposit').waitFor()
    expect((await text(page, '#deposit')).toLowerCase()).toBe(`with 0.001 eth from ${walletAccount?.toLowerCase()}, through the etherportal`)
    expect(await text(page, '#reports .reason')).toBe('rejected: evaluation failed')
    expect(await text(page, '#reports .log')).toMatch(/syntax error/)
    await shoot(page, '7-rejected')
    await page.close()
  })

  it("shows a failed build's notice, with the build's log tail from its report, and validates it too", async () => {
    const page = await open(pageUrl)
    await page.locator('#attr option[value="hello"]').waitFor({ state: 'attached' })
    await page.click('#kind-expr')
    await page.fill('#expr', `pkgs: pkgs.mkDerivation { name = "fails-${Date.now()}"; buildPhase = "echo cartenix-expected-failure >&2; exit 3"; }`)
    await page.click('#submit')
    await page.locator('#build-outcome').waitFor({ timeout: 5 * 60_000 })
    expect(await text(page, '#build-outcome')).toBe('the build failed')
    expect(await text(page, '#reports .log')).toContain('cartenix-expected-failure')
    await page.locator('#validated').waitFor({ timeout: 5 * 60_000 })
    await shoot(page, '8-build-failed')
    await page.close()
  })

  it('browses past inputs a page at a time and links to each', async () => {
    const page = await open(`${pageUrl}?pageSize=1#/`)
    await page.locator('#inputs-pager').waitFor()
    expect(await text(page, '#inputs-pager')).toContain('inputs 1–1 of 3')
    expect(await text(page, '#inputs tbody tr td')).toBe('2')
    await page.click('#inputs-pager .page-older')
    await page.waitForFunction(() => document.querySelector('#inputs-pager')?.textContent?.includes('inputs 2–2 of 3'))
    expect(await text(page, '#inputs tbody tr td')).toBe('1')
    // hello's notice and voucher, the failed build's notice; the rejected input has none.
    expect(await text(page, '#outputs-pager')).toContain('of 3')
    await shoot(page, '9-browse')
    await page.click('#inputs tbody a')
    await page.waitForURL(/#\/input\/1$/)
    await page.locator('#not-accepted').waitFor()
    await page.close()
  })

  it('works as static files from another web server, pointed at the node and the chain by its settings', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cartenix-web-'))
    const { stdout } = await exec('npx', ['tsx', 'web/build.ts', '--out', dir], { cwd: repoRoot })
    console.log(`web page, static build:\n${stdout}`)
    // A guard on the bundle: a module that drags in all of zod or all of viem's actions shows here.
    expect((await stat(join(dir, 'app.js'))).size).toBeLessThan(400_000)
    const server = await serveStatic(dir)
    try {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const settings = new URLSearchParams({ node: devnet.nodeUrl, chain: devnet.chainUrl })
      // A deep link, from another origin: the node answers it through CORS.
      const page = await open(`${origin}/index.html?${settings}#/input/0`)
      await page.locator('#validated').waitFor()
      expect(await text(page, '#node-url')).toBe(devnet.nodeUrl)
      await shoot(page, '10-static-deep-link')
      await page.close()
      const nowhere = await open(`${origin}/index.html?node=http://127.0.0.1:9&chain=${encodeURIComponent(devnet.chainUrl)}`)
      await nowhere.locator('#connection-error').waitFor()
      expect(await text(nowhere, '#connection-error')).toContain('Cannot reach the rollups node at http://127.0.0.1:9/rpc')
      await nowhere.close()
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('the client actions the page reads with', () => {
  const node = () => createNodeClient({ url: `${devnet.nodeUrl}/rpc` })

  it('getApplication and listInputs give the InputBox and pages of inputs, newest first', async () => {
    const application = await getApplication(node(), { application: devnet.deployment.application })
    expect(application.inputBox?.toLowerCase()).toBe(devnet.deployment.inputBox.toLowerCase())
    const newest = await listInputs(node(), { application: application.address, limit: 1, descending: true })
    const oldest = await listInputs(node(), { application: application.name, limit: 1 })
    expect(newest.totalCount).toBe(oldest.totalCount)
    expect(newest.inputs[0]?.index).toBe(BigInt(newest.totalCount - 1))
    expect(oldest.inputs[0]?.index).toBe(0n)
  })

  it("waitForProof says the epoch's status as it goes", async () => {
    const statuses: string[] = []
    const proven = await waitForProof(node(), { application: devnet.deployment.application, outputIndex: 0n, onEpochStatus: (s) => statuses.push(s) })
    expect(proven.siblings).toHaveLength(63)
    expect(statuses).toEqual(['CLAIM_ACCEPTED'])
  })

  it("inspectState returns the back end's answer, its refusal with the reason, and names a node it cannot reach", async () => {
    const inspect = { url: `${devnet.nodeUrl}/inspect`, application: devnet.deployment.application }
    const listed = await inspectState({ ...inspect, query: { query: 'attributes' } })
    expect(listed.status).toBe('Accepted')
    expect((listed.reports[0]?.json as { attributes: string[] }).attributes).toContain('hello')
    const refused = await inspectState({ ...inspect, query: { query: 'nonsense' } })
    expect(refused.status).toBe('Rejected')
    expect(refused.reports[0]?.json).toMatchObject({ type: 'rejected', reason: expect.stringContaining('not an inspect query') })
    await expect(inspectState({ ...inspect, url: 'http://127.0.0.1:9/inspect', query: {} })).rejects.toThrow(NodeUnreachableError)
  })
})

/** A plain static file server over the build's folder, which has no config.json: any web server would do. */
function serveStatic(dir: string): Promise<Server> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' }
  const server = createServer((request, response) => {
    const name = new URL(request.url ?? '/', 'http://x').pathname.slice(1) || 'index.html'
    readFile(join(dir, name.replaceAll('/', ''))).then(
      (body) => response.writeHead(200, { 'content-type': types[extname(name)] ?? 'application/octet-stream' }).end(body),
      () => response.writeHead(404).end(),
    )
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}
