/**
 * Sources through the rollup, against a real devnet and real Nix: a source the image lacks
 * (FIGlet, from Debian's archive, with nixpkgs' hash) is uploaded in chunks and then built.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex, createWalletClient, getAddress, http, sha256, type Hex } from 'viem'
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import { inputBoxAbi } from '../../contracts-client/abi/rollups.ts'
import { uploadAnswer, type InspectQuery } from '../../dapp/protocol/inspect.ts'
import {
  chunkCount, chunkRange, createNodeClient, encodeUploadChunk, inspectState, requestBuild, uploadSource, validateNotice, waitForProof, waitForResult, type NodeClient,
} from '../../contracts-client/index.ts'
import { runNix } from '../../dapp/nix/env.ts'
import { instantiate } from '../../dapp/nix/instantiate.ts'
import { fixedOutputPath, invalidPaths, toHex } from '../../dapp/nix/store.ts'
import { downloadFromDebian } from '../../image/sources.ts'
import { sha256File } from '../../image/host/debs.ts'
import { devUserKey } from '../../scripts/devnode/anvil.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { exec } from '../../dapp/lib/exec.ts'
import { addInput, clients, reportsOf, startTestDevnet, waitFor, waitForInput } from '../harness/devnet.ts'
import { figletExpr, figletSource, nixpkgsSha256 } from './figlet.ts'

let devnet: Devnet
let node: NodeClient
let stateDir: string
let tarball: Uint8Array
let storePath: string
const uploader = privateKeyToAccount(devUserKey).address.toLowerCase()
const anvilMnemonic = 'test test test test test test test test test test test junk'
const application = () => devnet.deployment.application

/** Removes these paths from the store if they are there, so that the machine lacks them. */
async function forget(paths: string[]): Promise<void> {
  const invalid = await invalidPaths(paths)
  const valid = paths.filter((p) => !invalid.has(p))
  if (valid.length > 0) await runNix('nix-store', ['--delete', ...valid])
}

async function figletPaths(): Promise<string[]> {
  const [drv] = await instantiate({ expr: figletExpr })
  const { stdout } = await runNix('nix-store', ['--query', '--outputs', drv ?? ''])
  return [...stdout.split('\n').filter(Boolean), storePath]
}

const frame = (args: { name?: string; sha256?: string; size?: number; index: number; count: number; data: Uint8Array }) =>
  ({ hex: encodeUploadChunk({ name: args.name ?? figletSource.name, mode: 'flat', sha256: args.sha256 ?? figletSource.sha256, size: BigInt(args.size ?? tarball.length), index: args.index, count: args.count, data: bytesToHex(args.data) }) })

async function rejected(payload: { hex: Hex }): Promise<string> {
  const index = await addInput(devnet, payload)
  expect((await waitForInput(devnet, index)).status).toBe('REJECTED')
  const [report] = await reportsOf(devnet, index)
  if (report?.type !== 'rejected') throw new Error(`input ${index}: expected a rejected report, got ${JSON.stringify(report)}`)
  return report.reason
}

const uploadQuery = (): InspectQuery => ({ query: 'upload', uploader, name: figletSource.name, mode: 'flat', sha256: figletSource.sha256 })
const inspect = async (query: InspectQuery) => uploadAnswer.parse((await inspectState({ url: `${devnet.nodeUrl}/inspect`, application: application(), query })).reports[0]?.json)

beforeAll(async () => {
  storePath = await fixedOutputPath({ name: figletSource.name, sha256: figletSource.sha256, mode: 'flat' })
  await forget(await figletPaths())
  const file = await downloadFromDebian(figletSource)
  tarball = new Uint8Array(await readFile(file))
  stateDir = await mkdtemp(join(tmpdir(), 'cartenix-upload-state-'))
  devnet = await startTestDevnet({ backendEnv: { CARTENIX_STATE_DIR: stateDir, CARTENIX_UPLOAD_MAX_MB: '1', CARTENIX_UPLOAD_MAX_PENDING: '3' } })
  node = createNodeClient({ url: `${devnet.nodeUrl}/rpc` })
})
afterAll(async () => {
  await devnet?.stop()
  if (storePath) await forget(await figletPaths())
  if (stateDir) await rm(stateDir, { recursive: true, force: true })
})

describe('a source the image lacks, through the rollup', () => {
  it('is the tarball nixpkgs pins, as Debian carries it, and the machine lacks it', async () => {
    expect(await toHex(nixpkgsSha256)).toBe(figletSource.sha256)
    expect(sha256(tarball).slice(2)).toBe(figletSource.sha256)
    expect(await sha256File(await downloadFromDebian(figletSource))).toBe(figletSource.sha256)
    expect(storePath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-figlet-2\.2\.5\.tar\.gz$/)
    expect(await inspect(uploadQuery())).toEqual({ query: 'upload', storePath, present: false, pending: null })
    const missing = await requestBuild(clients(devnet).walletClient, { application: application(), inputBox: devnet.deployment.inputBox, request: { expr: figletExpr } })
    expect((await waitForInput(devnet, Number(missing.inputIndex))).status).toBe('REJECTED')
    expect((await reportsOf(devnet, Number(missing.inputIndex)))[0]).toMatchObject({ missing: [{ name: figletSource.name, storePath }] })
  })

  it('fails the final check when a chunk was tampered with, and leaves no trace in the store', async () => {
    const count = chunkCount(tarball.length, figletSource.name)
    expect(count).toBe(4)
    for (let index = 0; index < count; index++) {
      const { start, end } = chunkRange(tarball.length, count, index)
      const data = tarball.slice(start, end)
      if (index === 1) data[100] = (data[100] ?? 0) ^ 0x01
      if (index < count - 1) {
        expect((await waitForInput(devnet, await addInput(devnet, frame({ index, count, data })))).status).toBe('ACCEPTED')
        continue
      }
      expect(await rejected(frame({ index, count, data }))).toMatch(/^sha256 mismatch: the chunks give [0-9a-f]{64}, the upload declares bf88c40f/)
    }
    expect((await invalidPaths([storePath])).has(storePath)).toBe(true)
    const status = await inspect(uploadQuery())
    expect(status.present).toBe(false)
    if (!status.pending) throw new Error('the upload in progress is gone')
    expect(status.pending.chunks.map((c) => c.index)).toEqual([0, 1, 2])
    const honest = (index: number) => sha256(tarball.slice(chunkRange(tarball.length, count, index).start, chunkRange(tarball.length, count, index).end)).slice(2)
    expect(status.pending.chunks.map((c) => c.sha256)).toEqual([honest(0), status.pending.chunks[1]?.sha256, honest(2)])
    expect(status.pending.chunks[1]?.sha256).not.toBe(honest(1))
    // Nothing assembled or staged is left beside the chunks.
    expect(await readdir(join(stateDir, 'uploads', '.staging'))).toEqual([])
  })

  it('refuses a chunk out of range, an oversize source, a wrong length and a changed shape, saying why', async () => {
    const one = new Uint8Array(10)
    expect(await rejected(frame({ name: 'other-1.0.tar.gz', sha256: 'aa'.repeat(32), size: 40, index: 4, count: 4, data: one }))).toBe(
      'chunk 4 is out of range: the upload has 4 chunks (0 to 3)',
    )
    expect(await rejected(frame({ name: 'big-1.0.tar.gz', sha256: 'aa'.repeat(32), size: 2 * 1024 * 1024, index: 0, count: 40, data: one }))).toMatch(
      /^source too large: 2097152 bytes declared, at most 1048576 \(CARTENIX_UPLOAD_MAX_MB\)$/,
    )
    expect(await rejected(frame({ name: 'other-1.0.tar.gz', sha256: 'aa'.repeat(32), size: 40, index: 0, count: 4, data: new Uint8Array(9) }))).toBe(
      'chunk 0 has 9 bytes; chunk 0 of 4 of 40 bytes has 10',
    )
    expect(await rejected(frame({ index: 0, count: 5, data: tarball.slice(0, Math.ceil(tarball.length / 5)) }))).toMatch(/the upload in progress has 233201 bytes in 4$/)
    expect(await rejected({ hex: `${encodeUploadChunk({ name: 'x', mode: 'flat', sha256: 'aa'.repeat(32), size: 1n, index: 0, count: 1, data: '0x00' }).slice(0, 80)}` as Hex })).toMatch(/^not an upload chunk/)
  })

  it('keeps the upload in progress across a restart of the back end (CARTENIX_STATE_DIR)', async () => {
    const before = await inspect(uploadQuery())
    await devnet.stopNode()
    await devnet.startNode()
    expect(await inspect(uploadQuery())).toEqual(before)
    expect(before.pending?.chunks).toHaveLength(3)
  })

  it('resumes through the CLI, sending only the tampered and the missing chunks, and proves the store path on-chain', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cartenix-upload-'))
    const file = join(dir, 'figlet_2.2.5.orig.tar.gz')
    await writeFile(file, tarball)
    const cli = fileURLToPath(new URL('../../bin/cartenix.js', import.meta.url))
    const flags = ['--rpc-url', devnet.chainUrl, '--node-url', devnet.nodeUrl, '--application', application(), '--input-box', devnet.deployment.inputBox]
    // Someone else's upload of the same source, left half done: it goes when the source arrives.
    const other = createWalletClient({ chain: anvil, transport: http(devnet.chainUrl), account: mnemonicToAccount(anvilMnemonic, { addressIndex: 2 }) })
    const otherChunk = await other.writeContract({
      address: devnet.deployment.inputBox, abi: inputBoxAbi, functionName: 'addInput',
      args: [application(), frame({ index: 0, count: 4, data: tarball.slice(0, chunkRange(tarball.length, 4, 0).end) }).hex],
    })
    await clients(devnet).publicClient.waitForTransactionReceipt({ hash: otherChunk })
    const otherQuery = { ...uploadQuery(), uploader: other.account.address }
    await waitFor('the other upload', async () => ((await inspect(otherQuery)).pending ? true : undefined))
    const { stdout } = await exec(process.execPath, [cli, 'upload', file, '--name', figletSource.name, '--json', ...flags])
    const uploaded = JSON.parse(stdout)
    expect(uploaded).toMatchObject({ storePath, sha256: figletSource.sha256, alreadyPresent: false, count: 4, skipped: 2 })
    expect(uploaded.inputIndices).toHaveLength(2)
    expect(BigInt(uploaded.gasUsed)).toBeGreaterThan(2n * 16n * 50_000n)
    expect(uploaded.notice.source).toMatchObject({ name: figletSource.name, mode: 'flat', sha256: figletSource.sha256, size: String(tarball.length), storePath, uploader: getAddress(uploader) })
    expect((await invalidPaths([storePath])).has(storePath)).toBe(false)
    // What the store holds is the pinned tarball itself, byte for byte.
    expect(await sha256File(storePath)).toBe(figletSource.sha256)

    const proven = await waitForProof(node, { application: application(), outputIndex: BigInt(uploaded.notice.index) })
    expect(await validateNotice(clients(devnet).publicClient, { application: application(), output: proven })).toEqual({ valid: true })
    expect(await inspect(uploadQuery())).toEqual({ query: 'upload', storePath, present: true, pending: null })
    expect(await inspect(otherQuery)).toEqual({ query: 'upload', storePath, present: true, pending: null })
    expect(await readdir(join(stateDir, 'uploads'))).toEqual(['.staging'])
    const { stdout: listed } = await exec(process.execPath, [cli, 'outputs', '--input', String(uploaded.inputIndices[1]), ...flags])
    expect(listed).toContain(`source added ${storePath}`)
    expect(await rejected(frame({ index: 0, count: 4, data: tarball.slice(0, chunkRange(tarball.length, 4, 0).end) }))).toBe(`source already present: ${storePath}`)
  })

  it('then builds a package from it through the rollup, and the notice is valid on-chain', async () => {
    const sent = await requestBuild(clients(devnet).walletClient, { application: application(), inputBox: devnet.deployment.inputBox, request: { expr: figletExpr } })
    const { notice } = await waitForResult(node, { application: application(), inputIndex: sent.inputIndex })
    expect(notice.result).toMatchObject({ success: true, requestHash: sent.requestHash })
    expect(notice.result.drvPath).toMatch(/-figlet-2\.2\.5\.drv$/)
    const out = notice.result.outputs[0]?.path ?? ''
    const { stdout } = await exec(join(out, 'bin', 'figlet'), ['-d', join(out, 'share', 'figlet'), 'Nix'])
    expect(stdout).toContain('|_| \\_|')
    const proven = await waitForProof(node, { application: application(), outputIndex: notice.index })
    expect(await validateNotice(clients(devnet).publicClient, { application: application(), output: proven })).toEqual({ valid: true })
  })

  it('takes a directory as a recursive source, the NAR restored and added by content', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cartenix-upload-dir-'))
    await mkdir(join(dir, 'src', 'sub'), { recursive: true })
    await writeFile(join(dir, 'src', 'sub', 'a.c'), `int main(void) { return ${Date.now() % 100}; }\n`)
    const { stdout: nar } = await runNix('nix-store', ['--dump', join(dir, 'src')])
    const data = new TextEncoder().encode(nar)
    const name = 'tiny-src'
    const expected = await fixedOutputPath({ name, sha256: sha256(data).slice(2), mode: 'recursive' })
    await forget([expected])
    try {
      const uploaded = await uploadSource(clients(devnet).walletClient, node, {
        application: application(), inputBox: devnet.deployment.inputBox, inspectUrl: `${devnet.nodeUrl}/inspect`, name, mode: 'recursive', data,
      })
      expect(uploaded).toMatchObject({ storePath: expected, alreadyPresent: false, count: 1, skipped: 0 })
      expect(await readFile(join(expected, 'sub', 'a.c'), 'utf8')).toContain('int main')
      const again = await uploadSource(clients(devnet).walletClient, node, {
        application: application(), inputBox: devnet.deployment.inputBox, inspectUrl: `${devnet.nodeUrl}/inspect`, name, mode: 'recursive', data,
      })
      expect(again).toMatchObject({ alreadyPresent: true, inputIndices: [] })
    } finally {
      await forget([expected])
    }
  })
})
