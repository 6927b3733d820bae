/**
 * The web page in a real browser (Debian's chromium, driven by playwright-core) against a real
 * devnet: anvil with the rollups contracts, the dev node, the back end and Nix. A screenshot of
 * each state goes to .cartenix/web-screenshots/.
 */
import { createHash, randomBytes } from 'node:crypto'
import { access, mkdir, mkdtemp, readFile, stat } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex, createWalletClient, http, keccak256, toHex, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import { chunkRange, encodeUploadChunk, maxChunkBytes } from '../../dapp/protocol/sourceUpload.ts'
import { quorumAbi } from '../../contracts-client/abi/rollups.ts'
import { deployRegistry } from '../../contracts-client/actions/deployRegistry.ts'
import { getApplication } from '../../contracts-client/actions/getApplication.ts'
import { inspectState } from '../../contracts-client/actions/inspectState.ts'
import { attributesAnswer, type InspectQuery } from '../../dapp/protocol/inspect.ts'
import { listInputs } from '../../contracts-client/actions/listInputs.ts'
import { uploadSource } from '../../contracts-client/actions/uploadSource.ts'
import { waitForProof } from '../../contracts-client/actions/waitForProof.ts'
import { NodeUnreachableError } from '../../contracts-client/errors/node.ts'
import { createNodeClient } from '../../contracts-client/node/client.ts'
import { runNix } from '../../dapp/nix/env.ts'
import { repoRoot } from '../../dapp/lib/paths.ts'
import { fixedOutputPath, invalidPaths } from '../../dapp/nix/store.ts'
import { devAccountKey, devValidatorKeys } from '../../scripts/devnode/anvil.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { exec } from '../../dapp/lib/exec.ts'
import { addInput, clients, rpc, startTestDevnet, waitFor, waitForInput } from '../harness/devnet.ts'

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
const sha256Hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex')

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
    expect(await page.getAttribute('#status', 'title')).toBe('REJECTED (rejected by the back end: its outputs are dropped, its reports say why)')
    expect(await text(page, '#not-accepted')).toContain('was not accepted: REJECTED (rejected by the back end')
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
    expect(await text(page, '#reports .reason')).toBe('build-failed')
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
    // The newest epoch, from the node and from the chain: the Authority's one claim, accepted.
    const epoch = page.locator('#epochs tbody tr').first()
    await epoch.waitFor()
    expect(await epoch.locator('td').nth(1).textContent()).toBe('CLAIM_ACCEPTED')
    const nodeRoot = await epoch.locator('.node-root').getAttribute('title')
    expect(nodeRoot).toMatch(/^0x[0-9a-f]{64}$/)
    expect(await epoch.locator('.accepted-root').getAttribute('title')).toBe(nodeRoot)
    expect(await epoch.locator('.vote .voter').getAttribute('title')).toBe(privateKeyToAccount(devAccountKey).address)
    expect(await epoch.locator('.vote').textContent()).toContain('✓')
    expect((await text(page, '#consensus')).toLowerCase()).toContain(`authority ${devnet.deployment.consensus}`.toLowerCase())
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

  it("shows a source upload: the SourceAdded notice in the outputs, the completing chunk's notice validated on-chain, a chunk on its way, and a tampered upload's rejection", async () => {
    // Random bytes, so that the source is new to this host's store; three chunks of one input each.
    const name = `page-src-${Date.now() % 1_000_000}.bin`
    const data = new Uint8Array(randomBytes(2 * maxChunkBytes(name) + 1000))
    const digest = sha256Hex(data)
    const storePath = await fixedOutputPath({ name, sha256: digest, mode: 'flat' })
    const { walletClient } = clients(devnet)
    try {
      const uploaded = await uploadSource(walletClient, createNodeClient({ url: `${devnet.nodeUrl}/rpc` }), {
        application: devnet.deployment.application, inputBox: devnet.deployment.inputBox, inspectUrl: `${devnet.nodeUrl}/inspect`, name, data,
      })
      expect(uploaded).toMatchObject({ storePath, sha256: digest, alreadyPresent: false, count: 3, skipped: 0 })
      const [first, , last] = uploaded.inputIndices

      const page = await open(`${pageUrl}#/`)
      await page.locator('#outputs-list tbody tr').first().waitFor()
      const described = await page.locator('#outputs-list tbody tr td:nth-child(5)').allTextContents()
      expect(described.map((t) => t.trim())).toContain(`source added ${name} → ${storePath}`)
      expect(described.join('\n')).not.toContain('not a Cartenix result')
      await shoot(page, '11-upload-outputs')

      await page.goto(`${pageUrl}#/input/${last}`)
      await page.locator('#upload-outcome').waitFor({ timeout: 60_000 })
      expect(await text(page, '#status')).toBe('ACCEPTED')
      expect(await text(page, '#request-text')).toBe(`upload chunk 2 of 3 of ${name} (${digest}, flat)`)
      const { start, end } = chunkRange(data.length, 3, 2)
      expect(await text(page, '#upload-chunk')).toBe(
        `${(end - start).toLocaleString('en')} bytes (bytes ${start.toLocaleString('en')} to ${end.toLocaleString('en')}) of a file of ${data.length.toLocaleString('en')} bytes, chunks numbered from 0`,
      )
      expect(await text(page, '#upload-outcome')).toBe('source added')
      expect(await text(page, '#source-name')).toBe(name)
      expect(await text(page, '#source-store-path')).toBe(storePath)
      expect(await text(page, '#source-sha256')).toBe(digest)
      expect(await text(page, '#source-mode')).toBe('flat')
      expect(await text(page, '#source-size')).toBe(`${data.length.toLocaleString('en')} bytes`)
      expect((await text(page, '#source-uploader')).toLowerCase()).toBe(walletClient.account.address.toLowerCase())
      expect(await text(page, '#notice')).toContain("= keccak256 of this input's request")
      // The store holds the file the page names, and Nix's base-32 of its hash is the page's.
      const { stdout } = await runNix('nix-hash', ['--type', 'sha256', '--flat', '--base32', storePath])
      expect(await text(page, '#source-nix32')).toBe(`sha256:${stdout.trim()}`)
      await page.locator('#validated').waitFor({ timeout: 5 * 60_000 })
      expect(await text(page, '#validated')).toBe(
        `validated on-chain: Application.validateOutput accepted output ${uploaded.notice?.index} against the claim of epoch ${uploaded.notice?.epochIndex}`,
      )
      await shoot(page, '12-upload-source-added')

      await page.goto(`${pageUrl}#/input/${first}`)
      await page.locator('#upload-progress').waitFor({ timeout: 60_000 })
      expect(await text(page, '#status')).toBe('ACCEPTED')
      expect(await text(page, '#request-text')).toBe(`upload chunk 0 of 3 of ${name} (${digest}, flat)`)
      expect(await text(page, '#upload-progress')).toBe(
        `Chunk 0 of 3 joined the upload of ${name}: after it the machine held 1 of the 3 chunks (the source becomes ${storePath} once it has them all and their sha256 is the one declared).`,
      )
      expect(await page.locator('#notice, #not-accepted, #verdict').count()).toBe(0)
      // Progress is no failure: its report's type is shown plainly, not as a reason in red.
      expect(await text(page, '#reports .kind')).toBe('upload-progress')
      expect(await page.locator('#reports .reason').count()).toBe(0)
      await shoot(page, '13-upload-chunk')

      // Another source, its first chunk tampered with on the way: the chunk that completes it is rejected.
      const badName = `page-bad-${Date.now() % 1_000_000}.bin`
      const bad = new Uint8Array(randomBytes(100))
      const badDigest = sha256Hex(bad)
      const chunk = (index: number, bytes: Uint8Array) =>
        ({ hex: encodeUploadChunk({ name: badName, mode: 'flat', sha256: badDigest, size: BigInt(bad.length), index, count: 2, data: bytesToHex(bytes) }) })
      const tampered = bad.slice(0, 50)
      tampered[7] = (tampered[7] ?? 0) ^ 0xff
      expect((await waitForInput(devnet, await addInput(devnet, chunk(0, tampered)))).status).toBe('ACCEPTED')
      const rejected = await addInput(devnet, chunk(1, bad.slice(50)))
      await page.goto(`${pageUrl}#/input/${rejected}`)
      await page.locator('#not-accepted').waitFor({ timeout: 5 * 60_000 })
      expect(await text(page, '#status')).toBe('REJECTED')
      expect(await text(page, '#request-text')).toBe(`upload chunk 1 of 2 of ${badName} (${badDigest}, flat)`)
      expect(await text(page, '#reports .reason')).toMatch(new RegExp(`^rejected: sha256 mismatch: the chunks give [0-9a-f]{64}, the upload declares ${badDigest}; nothing was added`))
      await shoot(page, '14-upload-rejected')
      await page.close()
    } finally {
      if (!(await invalidPaths([storePath])).has(storePath)) await runNix('nix-store', ['--delete', storePath])
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
    expect(attributesAnswer.parse(listed.reports[0]?.json).attributes).toContain('hello')
    // Not a query, on purpose: the cast is how a caller without types would send it.
    const refused = await inspectState({ ...inspect, query: { query: 'nonsense' } as unknown as InspectQuery })
    expect(refused.status).toBe('Rejected')
    expect(refused.reports[0]?.report).toMatchObject({ type: 'rejected', reason: expect.stringContaining('not an inspect query') })
    await expect(inspectState({ ...inspect, url: 'http://127.0.0.1:9/inspect', query: { query: 'attributes' } })).rejects.toThrow(NodeUnreachableError)
  })
})

describe('the web page against a devnet on a Quorum of three', () => {
  it('shows each validator\'s vote beside the accepted root, and marks a liar\'s', async () => {
    const [second, third] = devValidatorKeys.map((key) => privateKeyToAccount(key))
    if (!second || !third) throw new Error('anvil gives two validator keys')
    const owner = privateKeyToAccount(devAccountKey)
    const quorum = await startTestDevnet({ page: true, quorumValidators: [owner.address, second.address, third.address] })
    try {
      const index = await addInput(quorum, JSON.stringify({ expr: `pkgs: derivation { name = "page-votes-${Date.now()}"; system = pkgs.seed.system; builder = "\${pkgs.seed}/usr/bin/bash"; args = [ "-c" "echo voted > $out" ]; }` }))
      const input = await waitForInput(quorum, index)
      // The dev node votes as the owner; the other two by hand: one lies, one agrees.
      const submitted = await waitFor('the node\'s vote', async () => {
        const { data } = await rpc(quorum, 'cartesi_getEpoch', { epoch_index: toHex(input.epochIndex) })
        return data.status === 'CLAIM_SUBMITTED' ? data : undefined
      }, 120_000)
      const forged = keccak256(toHex('a liar in the page'))
      for (const [account, root] of [[second, forged], [third, submitted.claimHash]] as const) {
        const wallet = createWalletClient({ chain: anvil, transport: http(quorum.chainUrl), account })
        const hash = await wallet.writeContract({ address: quorum.deployment.consensus, abi: quorumAbi, functionName: 'submitClaim', args: [quorum.deployment.application, submitted.lastBlock, root as Hex] })
        await clients(quorum).publicClient.waitForTransactionReceipt({ hash })
      }
      const page = await open(`${quorum.pageUrl}#/`)
      const row = page.locator(`#epochs tbody tr[data-epoch="${input.epochIndex}"]`)
      await row.waitFor()
      expect((await text(page, '#consensus')).toLowerCase()).toContain(`quorum of 3 validators ${quorum.deployment.consensus}`.toLowerCase())
      expect(await row.locator('.accepted-root').getAttribute('title')).toBe(submitted.claimHash)
      expect(await row.locator('.vote .voter').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('title')))).toEqual([owner.address, second.address, third.address])
      expect(await row.locator('.vote.differs .voter').getAttribute('title')).toBe(second.address)
      expect(await row.locator('.vote.differs .voted-root').getAttribute('title')).toBe(forged)
      expect(await row.locator('.vote.differs').textContent()).toContain('✗ differs')
      await shoot(page, '15-quorum-epochs')
      await page.close()
    } finally {
      await quorum.stop()
    }
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
