/**
 * `cartenix cache` against a devnet whose back end echoes each input as a notice
 * (echo-backend.ts), so that a SourceAdded notice of the test's making is claimed and validates
 * on-chain: one whose store path is not the one Nix gives its name, mode and sha256 vouches for
 * nothing, nor does one whose name Nix refuses; the same notice made honestly is served.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { keccak256, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listOutputs } from '../../contracts-client/actions/listOutputs.ts'
import { encodeSourceAdded, type SourceAdded } from '../../dapp/protocol/sourceUpload.ts'
import { lockedFixedPaths } from '../../contracts-client/cache/fixed.ts'
import { hashPart } from '../../contracts-client/cache/narinfo.ts'
import { NoticeIndex } from '../../contracts-client/cache/notices.ts'
import { startCacheGateway, type CacheGateway } from '../../contracts-client/cache/server.ts'
import { loadSigner } from '../../contracts-client/cache/signing.ts'
import { parseUpstream } from '../../contracts-client/cache/upstream.ts'
import { createNodeClient } from '../../contracts-client/node/client.ts'
import { runNix } from '../../dapp/nix/env.ts'
import { bytesToNix32 } from '../../dapp/protocol/narHash.ts'
import { addFixed, fixedOutputPath, invalidPaths, narHash } from '../../dapp/nix/store.ts'
import { devUserKey } from '../../scripts/devnode/anvil.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { addInput, clients, startTestDevnet, waitFor, waitForInput, waitForProof } from '../harness/devnet.ts'

const echoBackend = fileURLToPath(new URL('./echo-backend.ts', import.meta.url))

let devnet: Devnet
let gateway: CacheGateway
let file: { name: string; data: Buffer; sha256: string; path: string }
const log: string[] = []

beforeAll(async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'cartenix-cache-dishonest-'))
  const data = randomBytes(2048)
  const name = `cartenix-dishonest-${randomBytes(4).toString('hex')}.bin`
  await writeFile(join(scratch, name), data)
  // In this host's store, which is the gateway's upstream: its bytes pass the hash check.
  file = { name, data, sha256: createHash('sha256').update(data).digest('hex'), path: await addFixed(join(scratch, name), 'flat') }
  devnet = await startTestDevnet({ backendCommand: { file: process.execPath, args: ['--import', 'tsx', echoBackend] } })
  await runNix('nix-store', ['--generate-binary-cache-key', 'cartenix-test-1', join(scratch, 'secret.key'), join(scratch, 'public.key')])
  const notices = new NoticeIndex({ node: createNodeClient({ url: `${devnet.nodeUrl}/rpc` }), chain: clients(devnet).publicClient, application: devnet.deployment.application, log: (line) => log.push(line) })
  gateway = await startCacheGateway({ notices, fixed: await lockedFixedPaths(), upstream: parseUpstream('store')!, signer: await loadSigner(join(scratch, 'secret.key')), log: (line) => log.push(line) })
})

afterAll(async () => {
  await gateway?.close()
  await devnet?.stop()
  if (file && !(await invalidPaths([file.path])).has(file.path)) await runNix('nix-store', ['--delete', file.path])
})

const get = (url: string) => fetch(url).then(async (response) => ({ status: response.status, text: await response.text() }))

/** Sends the notice as an input (the back end emits it as it is) and waits until its epoch's claim is accepted. */
async function emitClaimed(notice: Omit<SourceAdded, 'requestHash' | 'inputIndex' | 'uploader'>): Promise<bigint> {
  const full: SourceAdded = { ...notice, requestHash: keccak256(toHex(notice.storePath)), inputIndex: 0n, uploader: privateKeyToAccount(devUserKey).address }
  const index = await addInput(devnet, { hex: encodeSourceAdded(full) })
  expect((await waitForInput(devnet, index)).status).toBe('ACCEPTED')
  const { outputs } = await listOutputs(createNodeClient({ url: `${devnet.nodeUrl}/rpc` }), { application: devnet.deployment.application, inputIndex: BigInt(index) })
  const [output] = outputs
  if (!output?.source) throw new Error(`input ${index} gave no SourceAdded notice`)
  await waitForProof(devnet, Number(output.index))
  return output.index
}

describe('cartenix cache and a SourceAdded notice that validates on-chain', () => {
  it('refuses one whose store path is not the one its name, mode and sha256 give, with the reason', async () => {
    const renamed = `renamed-${file.name}`
    const outputIndex = await emitClaimed({ name: renamed, mode: 'flat', sha256: file.sha256, size: BigInt(file.data.length), storePath: file.path })
    const computed = await fixedOutputPath({ name: renamed, mode: 'flat', sha256: file.sha256 })
    expect(computed).not.toBe(file.path)
    const reason = `is valid on-chain, but its store path ${file.path} is not the one its name, mode and sha256 give: ${computed}`
    const answer = await get(`${gateway.url}/${hashPart(file.path)}.narinfo`)
    expect(answer.status).toBe(404)
    expect(answer.text).toContain(`SourceAdded notice ${outputIndex} (input `)
    expect(answer.text).toContain(reason)
    expect((await get(`${gateway.url}/nar/${hashPart(file.path)}.nar`)).status).toBe(404)
    expect((await get(`${gateway.url}/${hashPart(computed)}.narinfo`)).status).toBe(404)
    expect(log.join('\n')).toContain(`refused SourceAdded notice ${outputIndex} (input `)
    expect(gateway.status().notices).toMatchObject({ sources: 0, pending: 0 })
  })

  it('refuses one whose name Nix refuses', async () => {
    const storePath = `/nix/store/${'1'.repeat(32)}-bad`
    const outputIndex = await emitClaimed({ name: 'bad/name', mode: 'flat', sha256: file.sha256, size: BigInt(file.data.length), storePath })
    const answer = await waitFor(`the gateway to read notice ${outputIndex}`, async () => {
      const answer = await get(`${gateway.url}/${hashPart(storePath)}.narinfo`)
      return answer.text.includes(`SourceAdded notice ${outputIndex} `) ? answer : undefined
    }, 5000)
    expect(answer.status).toBe(404)
    expect(answer.text).toContain(`is not the one its name, mode and sha256 give: none (Nix refuses the name or hash: `)
  })

  it('serves the same file once a notice names it honestly, its hash checked', async () => {
    const outputIndex = await emitClaimed({ name: file.name, mode: 'flat', sha256: file.sha256, size: BigInt(file.data.length), storePath: file.path })
    const narinfo = await waitFor(`the narinfo of ${file.path}`, async () => {
      const answer = await get(`${gateway.url}/${hashPart(file.path)}.narinfo`)
      return answer.status === 404 ? undefined : answer
    }, 5000)
    expect(narinfo.status).toBe(200)
    expect(narinfo.text).toContain(`StorePath: ${file.path}\nURL: nar/${hashPart(file.path)}.nar\nCompression: none\nNarHash: ${await narHash(file.path)}\n`)
    const response = await fetch(`${gateway.url}/nar/${hashPart(file.path)}.nar`)
    expect(response.status).toBe(200)
    const nar = Buffer.from(await response.arrayBuffer())
    expect(`sha256:${bytesToNix32(createHash('sha256').update(nar).digest())}`).toBe(await narHash(file.path))
    expect(log.join('\n')).toContain(`checked uploaded source ${file.path} against the flat sha256 ${file.sha256} of SourceAdded notice ${outputIndex}`)
    expect(gateway.status().notices).toMatchObject({ sources: 1 })
  })
})
