/**
 * `cartenix cache` against a real devnet (anvil, the v2.2.0 contracts, the dev node, the back end)
 * and real Nix: an empty chroot store substitutes hello through the gateway only once the chain
 * has validated its notice, a tampered upstream is refused, and a path nobody vouches for is 404.
 * Then sources uploaded through the rollup: served once their SourceAdded notice validates and
 * their bytes hash to its sha256, never from a tampered upstream, nor from a node that lies.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, open, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { sha256, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listOutputs } from '../../contracts-client/actions/listOutputs.ts'
import { uploadSource, type UploadSourceReturnType } from '../../contracts-client/actions/uploadSource.ts'
import type { BuildResult } from '../../dapp/protocol/buildResult.ts'
import { encodeSourceAdded, type SourceAdded } from '../../dapp/protocol/sourceUpload.ts'
import { lockedFixedPaths } from '../../contracts-client/cache/fixed.ts'
import { hashPart } from '../../contracts-client/cache/narinfo.ts'
import { NoticeIndex } from '../../contracts-client/cache/notices.ts'
import { startCacheGateway, type CacheGateway } from '../../contracts-client/cache/server.ts'
import { loadSigner } from '../../contracts-client/cache/signing.ts'
import { parseUpstream } from '../../contracts-client/cache/upstream.ts'
import { createNodeClient } from '../../contracts-client/node/client.ts'
import { runNix } from '../../dapp/nix/env.ts'
import { bytesToNix32, hexToNarHash } from '../../dapp/protocol/narHash.ts'
import { addFixed, fixedOutputPath, invalidPaths, narHash } from '../../dapp/nix/store.ts'
import { readSourceLock } from '../../dapp/nix/sources.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { CommandFailedError, exec } from '../../dapp/lib/exec.ts'
import { addInput, clients, startTestDevnet, waitFor, waitForInput, waitForProof } from '../harness/devnet.ts'

const cli = fileURLToPath(new URL('../../bin/cartenix.js', import.meta.url))
const epochLength = 20

let devnet: Devnet
let scratch: string
let publicKey: string
let gateway: { child: ChildProcess; url: string; status: Record<string, any>; log: string[] }
let tamperedGateway: CacheGateway | undefined
let result: BuildResult
let noticeIndex: number
let hello: string
const tamperedLog: string[] = []

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'cartenix-cache-test-'))
  devnet = await startTestDevnet({ epochLength, autoMine: false })
  await runNix('nix-store', ['--generate-binary-cache-key', 'cartenix-test-1', join(scratch, 'secret.key'), join(scratch, 'public.key')])
  publicKey = (await readText(join(scratch, 'public.key'))).trim()
  gateway = await startCli()
})

afterAll(async () => {
  gateway?.child.kill('SIGTERM')
  await tamperedGateway?.close()
  await devnet?.stop()
})

async function readText(file: string): Promise<string> {
  const handle = await open(file, 'r')
  try {
    return await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
}

/** `cartenix cache --json` as a user runs it: the first stdout line is its status. */
async function startCli(): Promise<typeof gateway> {
  const flags = ['--rpc-url', devnet.chainUrl, '--node-url', devnet.nodeUrl, '--application', devnet.deployment.application]
  const child = spawn(process.execPath, [cli, 'cache', '--key', join(scratch, 'secret.key'), '--upstream', 'store', '--json', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] })
  const log: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => log.push(line))
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`cartenix cache exited with ${code}:\n${log.join('\n')}`)))
  })
  const status = JSON.parse(first) as Record<string, any>
  return { child, url: status.url as string, status, log }
}

/** A Nix store of its own under `root`, realising `path` with only `substituter` and `key` trusted. */
function substitute(root: string, path: string, substituter: string, key = publicKey) {
  return runNix(
    'nix-store',
    ['--store', `local?root=${root}`, '--realise', path, '--option', 'substituters', substituter, '--option', 'trusted-public-keys', key, '--option', 'narinfo-cache-negative-ttl', '0'],
    { env: { XDG_CACHE_HOME: join(scratch, 'xdg-cache') } },
  )
}

const isValidIn = (root: string, path: string) =>
  runNix('nix-store', ['--store', `local?root=${root}`, '--check-validity', path]).then(() => true, () => false)

/**
 * A `file://` binary cache at `dir` holding the NARs of these paths (from this host's store) with
 * one byte changed in each, 200 bytes before its end.
 */
async function writeTamperedCache(dir: string, paths: string[]): Promise<void> {
  await mkdir(join(dir, 'nar'), { recursive: true })
  for (const path of paths) {
    const nar = join(dir, 'nar', `${hashPart(path)}.nar`)
    await exec('sh', ['-c', 'nix-store --dump "$1" > "$2"', 'sh', path, nar])
    const handle = await open(nar, 'r+')
    const { size } = await handle.stat()
    const byte = Buffer.alloc(1)
    await handle.read(byte, 0, 1, size - 200)
    await handle.write(Buffer.from([(byte[0] ?? 0) ^ 0x20]), 0, 1, size - 200)
    await handle.close()
    await writeFile(join(dir, `${hashPart(path)}.narinfo`), `StorePath: ${path}\nURL: nar/${hashPart(path)}.nar\nCompression: none\n`)
  }
}

const get = (url: string) => fetch(url).then(async (response) => ({ status: response.status, text: await response.text() }))

describe('cartenix cache', () => {
  it('explains itself with --help and refuses a wrong command line with exit status 2', async () => {
    const { stdout } = await exec(process.execPath, [cli, 'cache', '--help'])
    expect(stdout).toContain('trusted-public-keys')
    const failed = await exec(process.execPath, [cli, 'cache', '--key', join(scratch, 'secret.key'), '--upstream', 'ftp://x']).catch((error: unknown) => error)
    expect(failed).toBeInstanceOf(CommandFailedError)
    expect((failed as CommandFailedError).exitCode).toBe(2)
    expect((failed as CommandFailedError).stderr).toContain('--upstream must be store, store:URI, or an http(s):// or file:// URL, got "ftp://x"')
  })

  it('prints its status as JSON at start-up, answers /nix-cache-info, and 404s what nobody vouches for', async () => {
    expect(gateway.status).toMatchObject({ publicKey, upstream: 'store', application: devnet.deployment.application, notices: { validated: 0, paths: 0 } })
    expect(gateway.status.fixedPaths).toBeGreaterThan(0)
    expect(await get(`${gateway.url}/nix-cache-info`)).toMatchObject({ status: 200, text: expect.stringContaining('StoreDir: /nix/store') })
    const never = await get(`${gateway.url}/${'0'.repeat(32)}.narinfo`)
    expect(never.status).toBe(404)
    expect(never.text).toContain('no notice validated on-chain vouches for this path')
    expect((await get(`${gateway.url}/nar/${'0'.repeat(32)}.nar`)).status).toBe(404)
    expect((await get(`${gateway.url}/not-a-hash.narinfo`)).status).toBe(404)
    // In this machine's store, but no notice names it: still 404.
    const { stdout } = await runNix('nix-instantiate', ['--expr', '(import ./image/pkgs { system = "x86_64-linux"; }).hello'])
    expect((await get(`${gateway.url}/${hashPart(stdout.trim())}.narinfo`)).status).toBe(404)
  })

  it('404s hello once it is built through the rollup, while its epoch is not claimed', async () => {
    // A path nobody vouches for has the gateway read the node now; the build (under half a second
    // with hello in the store) ends before it may read it again by the clock, and its notice must
    // be read all the same: the node has processed an input since.
    expect((await get(`${gateway.url}/${'0'.repeat(32)}.narinfo`)).status).toBe(404)
    const index = await addInput(devnet, '{"attr":"hello"}')
    expect((await waitForInput(devnet, index)).status).toBe('ACCEPTED')
    const { outputs } = await listOutputs(createNodeClient({ url: `${devnet.nodeUrl}/rpc` }), { application: devnet.deployment.application, inputIndex: BigInt(index) })
    const notice = outputs.find((o) => o.result)
    if (!notice?.result) throw new Error(`input ${index} has no build notice`)
    result = notice.result
    noticeIndex = Number(notice.index)
    expect(notice.siblings).toBeNull()
    hello = result.outputs[0]?.path ?? ''
    const answer = await get(`${gateway.url}/${hashPart(hello)}.narinfo`)
    expect(answer.status).toBe(404)
    expect((await get(`${gateway.url}/nar/${hashPart(hello)}.nar`)).status).toBe(404)
    expect(await fetch(`${gateway.url}/cartenix/status`).then((r) => r.json())).toMatchObject({ notices: { validated: 0, pending: 1 } })
  })

  it('serves the narinfo from the notice once the claim is accepted, signed', async () => {
    await clients(devnet).publicClient.request({ method: 'anvil_mine' as never, params: [`0x${(epochLength * 2).toString(16)}`] as never })
    await waitForProof(devnet, noticeIndex)
    // An unknown path refreshes the notices at most once a second: a client that just asked waits that long.
    const narinfo = await waitFor('the narinfo of hello', async () => {
      const answer = await get(`${gateway.url}/${hashPart(hello)}.narinfo`)
      return answer.status === 404 ? undefined : answer
    }, 5000)
    expect(narinfo.status).toBe(200)
    const out = result.outputs[0]
    expect(narinfo.text).toContain(`StorePath: ${hello}\n`)
    expect(narinfo.text).toContain(`NarHash: ${hexToNarHash(out?.narHash ?? '0x')}\nNarSize: ${out?.narSize}\n`)
    expect(narinfo.text).toContain(`References: ${[...(out?.references ?? [])].sort().map((r) => basename(r)).join(' ')}\n`)
    expect(narinfo.text).toContain(`Deriver: ${basename(result.drvPath)}\n`)
    expect(narinfo.text).toMatch(/\nSig: cartenix-test-1:[A-Za-z0-9+/]{86}==\n$/)
    // The rest of hello's runtime closure (the seed) is vouched for by the same notice.
    for (const path of result.closure ?? []) expect((await get(`${gateway.url}/${hashPart(path.path)}.narinfo`)).status).toBe(200)
  })

  it('refuses a tampered upstream NAR before serving a byte: Nix installs nothing', async () => {
    const upstream = join(scratch, 'tampered-cache')
    const [source] = await readSourceLock()
    const tarball = await fixedOutputPath({ name: source?.name ?? '', sha256: source?.sha256 ?? '', mode: 'flat' })
    await writeTamperedCache(upstream, [hello, tarball, ...(result.closure ?? []).map((c) => c.path)])
    const notices = new NoticeIndex({ node: createNodeClient({ url: `${devnet.nodeUrl}/rpc` }), chain: clients(devnet).publicClient, application: devnet.deployment.application })
    tamperedGateway = await startCacheGateway({
      notices,
      fixed: await lockedFixedPaths(),
      upstream: parseUpstream(`file://${upstream}`)!,
      signer: await loadSigner(join(scratch, 'secret.key')),
      log: (line) => tamperedLog.push(line),
    })
    const refused = await get(`${tamperedGateway.url}/nar/${hashPart(hello)}.nar`)
    expect(refused.status).toBe(502)
    expect(refused.text).toContain(`The upstream's NAR of ${hello} is not the validated one: its sha256 is sha256:`)
    expect(tamperedLog.join('\n')).toContain(`refused /nar/${hashPart(hello)}.nar: The upstream's NAR of ${hello} is not the validated one`)
    // A locked source whose bytes were changed upstream gets no narinfo at all.
    const refusedSource = await get(`${tamperedGateway.url}/${hashPart(tarball)}.narinfo`)
    expect(refusedSource.status).toBe(502)
    expect(refusedSource.text).toContain(`The upstream's NAR of ${tarball} is not the validated one: the sha256 of its file is`)

    const root = join(scratch, 'store')
    const failed = await substitute(root, hello, tamperedGateway.url).catch((error: unknown) => error)
    expect(failed).toBeInstanceOf(CommandFailedError)
    for (const path of [hello, ...(result.closure ?? []).map((c) => c.path)]) {
      expect(await isValidIn(root, path)).toBe(false)
      expect(existsSync(join(root, path))).toBe(false)
    }
    expect(tamperedGateway.status().served).toMatchObject({ nar: 0 })
    expect(tamperedGateway.status().served.refused).toBeGreaterThan(0)
  })

  it('is not trusted by Nix under another key (require-sigs stays on)', async () => {
    const root = join(scratch, 'store')
    const other = join(scratch, 'other')
    await runNix('nix-store', ['--generate-binary-cache-key', 'someone-else', `${other}.secret`, `${other}.public`])
    const failed = await substitute(root, hello, gateway.url, (await readText(`${other}.public`)).trim()).catch((error: unknown) => error)
    expect(failed).toBeInstanceOf(CommandFailedError)
    expect(await isValidIn(root, hello)).toBe(false)
  })

  it("lets the same empty store realise hello through the gateway: Nix's hash is the notice's, and it runs", async () => {
    const root = join(scratch, 'store')
    await substitute(root, hello, gateway.url)
    const { stdout } = await runNix('nix-store', ['--store', `local?root=${root}`, '--query', '--hash', hello])
    expect(stdout.trim()).toBe(hexToNarHash(result.outputs[0]?.narHash ?? '0x'))
    for (const path of result.closure ?? []) {
      const { stdout: hash } = await runNix('nix-store', ['--store', `local?root=${root}`, '--query', '--hash', path.path])
      expect(hash.trim()).toBe(hexToNarHash(path.narHash))
    }
    // hello's interpreter is the seed's, at its /nix/store path, which this host also has.
    const { stdout: greeting } = await exec(join(root, hello, 'bin', 'hello'), [])
    expect(greeting.trim()).toBe('Hello, world!')
    expect(gateway.log.join('\n')).toContain(`served ${hello} (`)
  })

  it('serves a locked source, checked against its fixed hash', async () => {
    const [source] = await readSourceLock()
    const path = await fixedOutputPath({ name: source?.name ?? '', sha256: source?.sha256 ?? '', mode: 'flat' })
    const root = join(scratch, 'store')
    await substitute(root, path, gateway.url)
    const [{ stdout: theirs }, { stdout: ours }] = await Promise.all([
      runNix('nix-store', ['--store', `local?root=${root}`, '--query', '--hash', path]),
      runNix('nix-store', ['--query', '--hash', path]),
    ])
    expect(theirs.trim()).toBe(ours.trim())
    expect(gateway.log.join('\n')).toContain(`checked fixed-output ${path} against the locked sha256 ${source?.sha256}`)
    const status = await fetch(`${gateway.url}/cartenix/status`).then((r) => r.json())
    expect(status).toMatchObject({ notices: { validated: 1, pending: 0 }, served: { refused: 0 } })
    expect(status.served.nar).toBeGreaterThanOrEqual(3)
  })

  it('reads NARs from HTTP and compressed binary caches: another gateway, and an xz file:// cache', async () => {
    const [source] = await readSourceLock()
    const tarball = await fixedOutputPath({ name: source?.name ?? '', sha256: source?.sha256 ?? '', mode: 'flat' })
    const xzCache = join(scratch, 'xz-cache')
    await runNix('nix', ['copy', '--to', `file://${xzCache}?compression=xz`, tarball])
    const notices = new NoticeIndex({ node: createNodeClient({ url: `${devnet.nodeUrl}/rpc` }), chain: clients(devnet).publicClient, application: devnet.deployment.application })
    const signer = await loadSigner(join(scratch, 'secret.key'))
    const fixed = await lockedFixedPaths()
    for (const upstream of [gateway.url, `file://${xzCache}`]) {
      const second = await startCacheGateway({ notices, fixed, upstream: parseUpstream(upstream)!, signer })
      try {
        const paths = upstream === gateway.url ? [hello, tarball] : [tarball]
        for (const path of paths) {
          const response = await fetch(`${second.url}/nar/${hashPart(path)}.nar`)
          expect(response.status).toBe(200)
          const nar = Buffer.from(await response.arrayBuffer())
          const { stdout } = await runNix('nix-store', ['--query', '--hash', path])
          expect(`sha256:${bytesToNix32(createHash('sha256').update(nar).digest())}`).toBe(stdout.trim())
        }
      } finally {
        await second.close()
      }
    }
  })
})

/** Removes these paths from this host's store if they are there (the host back end adds uploads to it). */
async function forget(paths: readonly string[]): Promise<void> {
  const invalid = await invalidPaths(paths)
  const valid = paths.filter((p) => !invalid.has(p))
  if (valid.length > 0) await runNix('nix-store', ['--delete', ...valid])
}

/**
 * The node's JSON-RPC through a proxy that answers one notice's payload as another of the same
 * length, in its raw bytes and in the node's decoding: a node that lies about what was emitted.
 */
async function startLyingNode(from: Hex, to: Hex): Promise<{ url: string; lies: () => number; close: () => Promise<void> }> {
  const pattern = new RegExp(from.slice(2), 'gi')
  let lies = 0
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      fetch(`${devnet.nodeUrl}/rpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) })
        .then(async (answer) => {
          const text = (await answer.text()).replace(pattern, () => {
            lies++
            return to.slice(2)
          })
          response.writeHead(answer.status, { 'content-type': 'application/json' }).end(text)
        })
        .catch((error: unknown) => response.writeHead(502).end(String(error)))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/rpc`, lies: () => lies, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

type Uploaded = UploadSourceReturnType & { notice: NonNullable<UploadSourceReturnType['notice']> }

describe('cartenix cache, sources uploaded through the rollup', () => {
  // Random bytes, so that this host's store (which the host back end shares) lacks them.
  const tag = randomBytes(4).toString('hex')
  const flat = { name: `cartenix-cache-test-${tag}.bin`, data: new Uint8Array(randomBytes(4096)) }
  const tree = { name: `cartenix-cache-tree-${tag}`, data: new Uint8Array(), text: randomBytes(1500).toString('hex') }
  let flatUpload: Uploaded
  let treeUpload: Uploaded
  const added: string[] = []

  afterAll(async () => {
    await forget(added)
  })

  async function upload(name: string, data: Uint8Array, mode: 'flat' | 'recursive'): Promise<Uploaded> {
    const uploaded = await uploadSource(clients(devnet).walletClient, createNodeClient({ url: `${devnet.nodeUrl}/rpc` }), {
      application: devnet.deployment.application, inputBox: devnet.deployment.inputBox, inspectUrl: `${devnet.nodeUrl}/inspect`, name, mode, data,
    })
    added.push(uploaded.storePath)
    expect(uploaded.alreadyPresent).toBe(false)
    expect(uploaded.storePath).toBe(await fixedOutputPath({ name, mode, sha256: sha256(data).slice(2) }))
    const { notice } = uploaded
    if (!notice) throw new Error(`the upload of ${name} ended without a SourceAdded notice`)
    expect(notice.source).toMatchObject({ name, mode, sha256: sha256(data).slice(2), storePath: uploaded.storePath })
    expect(notice.siblings).toBeNull()
    return { ...uploaded, notice }
  }

  /**
   * The narinfo names the notice at the first ask: the node has processed the upload's inputs
   * since the gateway last read it, so it reads the node again whatever the clock says.
   */
  async function expectNotClaimed(uploaded: Uploaded): Promise<void> {
    const hash = hashPart(uploaded.storePath)
    const reason = `SourceAdded notice ${uploaded.notice.index} (input ${uploaded.notice.inputIndex}) names this path, but its epoch's claim is not accepted yet`
    const answer = await get(`${gateway.url}/${hash}.narinfo`)
    expect(answer.status).toBe(404)
    expect(answer.text).toContain(reason)
    const nar = await get(`${gateway.url}/nar/${hash}.nar`)
    expect(nar.status).toBe(404)
    expect(nar.text).toContain(reason)
  }

  it('are 404 with the reason until their epoch is claimed', async () => {
    // Each is asked for right after its own input: with autoMine off, no block closes its epoch before.
    flatUpload = await upload(flat.name, flat.data, 'flat')
    await expectNotClaimed(flatUpload)
    const dir = join(scratch, `tree-${tag}`)
    await mkdir(join(dir, 'sub'), { recursive: true })
    await writeFile(join(dir, 'data.txt'), tree.text)
    await writeFile(join(dir, 'sub', 'readme'), 'uploaded through the rollup\n')
    // The NAR's length fields are binary: written to a file, not read back as text.
    await exec('sh', ['-c', 'nix-store --dump "$1" > "$2"', 'sh', dir, `${dir}.nar`])
    tree.data = new Uint8Array(await readFile(`${dir}.nar`))
    treeUpload = await upload(tree.name, tree.data, 'recursive')
    await expectNotClaimed(treeUpload)
    expect(await fetch(`${gateway.url}/cartenix/status`).then((r) => r.json())).toMatchObject({ notices: { sources: 0 } })
  })

  it('are served once the claim is accepted: an empty store substitutes each with the notice\'s hash', async () => {
    await clients(devnet).publicClient.request({ method: 'anvil_mine' as never, params: [`0x${(epochLength * 2).toString(16)}`] as never })
    for (const uploaded of [flatUpload, treeUpload]) await waitForProof(devnet, Number(uploaded.notice.index))
    for (const uploaded of [flatUpload, treeUpload]) {
      const narinfo = await waitFor(`the narinfo of ${uploaded.storePath}`, async () => {
        const answer = await get(`${gateway.url}/${hashPart(uploaded.storePath)}.narinfo`)
        return answer.status === 404 ? undefined : answer
      }, 5000)
      expect(narinfo.status).toBe(200)
      expect(narinfo.text).toContain(`StorePath: ${uploaded.storePath}\n`)
      expect(narinfo.text).toContain(`NarHash: ${await narHash(uploaded.storePath)}\n`)
      expect(narinfo.text).toContain('References: \n')
      expect(narinfo.text).not.toContain('Deriver:')
      expect(narinfo.text).toMatch(/\nSig: cartenix-test-1:[A-Za-z0-9+/]{86}==\n$/)
      const source = uploaded.notice.source
      expect(gateway.log.join('\n')).toContain(`checked uploaded source ${uploaded.storePath} against the ${source.mode} sha256 ${source.sha256} of SourceAdded notice ${uploaded.notice.index}`)
    }
    // A recursive source's sha256 is its NAR's: the NAR hash the narinfo gives.
    expect(await get(`${gateway.url}/${hashPart(treeUpload.storePath)}.narinfo`).then((a) => a.text)).toContain(
      `NarHash: sha256:${bytesToNix32(Buffer.from(treeUpload.sha256, 'hex'))}\nNarSize: ${tree.data.length}\n`,
    )

    const root = join(scratch, 'uploads-store')
    for (const uploaded of [flatUpload, treeUpload]) {
      expect(await isValidIn(root, uploaded.storePath)).toBe(false)
      await substitute(root, uploaded.storePath, gateway.url)
      const { stdout } = await runNix('nix-store', ['--store', `local?root=${root}`, '--query', '--hash', uploaded.storePath])
      expect(stdout.trim()).toBe(await narHash(uploaded.storePath))
      expect(gateway.log.join('\n')).toContain(`served ${uploaded.storePath} (`)
    }
    const file = await readFile(join(root, flatUpload.storePath))
    expect(createHash('sha256').update(file).digest('hex')).toBe(flatUpload.notice.source.sha256)
    expect(Buffer.compare(file, Buffer.from(flat.data))).toBe(0)
    expect(await readFile(join(root, treeUpload.storePath, 'data.txt'), 'utf8')).toBe(tree.text)
    expect(await readFile(join(root, treeUpload.storePath, 'sub', 'readme'), 'utf8')).toBe('uploaded through the rollup\n')
    const status = await fetch(`${gateway.url}/cartenix/status`).then((r) => r.json())
    expect(status).toMatchObject({ notices: { sources: 2, pending: 0 }, served: { refused: 0 } })
  })

  it('are refused from an upstream whose bytes are not the notice\'s sha256: Nix installs nothing', async () => {
    const upstream = join(scratch, 'tampered-uploads')
    await writeTamperedCache(upstream, [flatUpload.storePath, treeUpload.storePath])
    const log: string[] = []
    const notices = new NoticeIndex({ node: createNodeClient({ url: `${devnet.nodeUrl}/rpc` }), chain: clients(devnet).publicClient, application: devnet.deployment.application })
    const tampered = await startCacheGateway({ notices, fixed: await lockedFixedPaths(), upstream: parseUpstream(`file://${upstream}`)!, signer: await loadSigner(join(scratch, 'secret.key')), log: (line) => log.push(line) })
    try {
      const refusedFlat = await get(`${tampered.url}/${hashPart(flatUpload.storePath)}.narinfo`)
      expect(refusedFlat.status).toBe(502)
      expect(refusedFlat.text).toContain(`The upstream's NAR of ${flatUpload.storePath} is not the validated one: the sha256 of its file is `)
      expect(refusedFlat.text).toContain(`, expected ${flatUpload.sha256}`)
      const refusedTree = await get(`${tampered.url}/nar/${hashPart(treeUpload.storePath)}.nar`)
      expect(refusedTree.status).toBe(502)
      expect(refusedTree.text).toContain(`The upstream's NAR of ${treeUpload.storePath} is not the validated one: the sha256 of its NAR is `)
      expect(log.join('\n')).toContain(`refused /nar/${hashPart(treeUpload.storePath)}.nar: The upstream's NAR of ${treeUpload.storePath} is not the validated one`)

      const root = join(scratch, 'tampered-uploads-store')
      for (const uploaded of [flatUpload, treeUpload]) {
        const failed = await substitute(root, uploaded.storePath, tampered.url).catch((error: unknown) => error)
        expect(failed).toBeInstanceOf(CommandFailedError)
        expect(await isValidIn(root, uploaded.storePath)).toBe(false)
        expect(existsSync(join(root, uploaded.storePath))).toBe(false)
      }
      expect(tampered.status().served).toMatchObject({ narinfo: 0, nar: 0 })
      expect(tampered.status().notices.sources).toBe(2)
    } finally {
      await tampered.close()
    }
  })

  it('are not taken from a node that lies about a SourceAdded notice: it does not validate on-chain', async () => {
    // Another file of the same name in this host's store: if the gateway believed the lie, its
    // bytes would pass the hash check, and it would be served.
    const other = join(scratch, `other-${tag}`, flat.name)
    await mkdir(join(scratch, `other-${tag}`))
    const otherData = randomBytes(4096)
    await writeFile(other, otherData)
    const otherPath = await addFixed(other, 'flat')
    added.push(otherPath)
    const honest = flatUpload.notice
    if (honest.decoded.type !== 'Notice') throw new Error('the SourceAdded output is not a notice')
    const lie: SourceAdded = { ...honest.source, sha256: createHash('sha256').update(otherData).digest('hex'), storePath: otherPath }
    const node = await startLyingNode(honest.decoded.payload, encodeSourceAdded(lie))
    const log: string[] = []
    const notices = new NoticeIndex({ node: createNodeClient({ url: node.url }), chain: clients(devnet).publicClient, application: devnet.deployment.application })
    const lied = await startCacheGateway({ notices, fixed: await lockedFixedPaths(), upstream: parseUpstream('store')!, signer: await loadSigner(join(scratch, 'secret.key')), log: (line) => log.push(line) })
    try {
      const answer = await get(`${lied.url}/${hashPart(otherPath)}.narinfo`)
      expect(node.lies()).toBeGreaterThan(0)
      expect(answer.status).toBe(404)
      expect(answer.text).toContain(`SourceAdded notice ${honest.index} (input ${honest.inputIndex}) names this path, but does not validate on-chain: InvalidOutputsMerkleRoot`)
      expect((await get(`${lied.url}/nar/${hashPart(otherPath)}.nar`)).status).toBe(404)
      // The honest notice, hidden by the lie, vouches for nothing through this node.
      expect((await get(`${lied.url}/${hashPart(flatUpload.storePath)}.narinfo`)).status).toBe(404)
      expect(lied.status()).toMatchObject({ notices: { sources: 1, pending: 1 }, served: { narinfo: 0, nar: 0 } })
      // Through the honest node, the other file is a path nobody vouches for.
      const unknown = await get(`${gateway.url}/${hashPart(otherPath)}.narinfo`)
      expect(unknown.status).toBe(404)
      expect(unknown.text).toContain('no notice validated on-chain vouches for this path')
    } finally {
      await lied.close()
      await node.close()
    }
  })
})
