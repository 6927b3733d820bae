import { createPublicKey, verify } from 'node:crypto'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { runNix } from '../../dapp/nix/env.ts'
import { SigningKeyError } from '../errors/cache.ts'
import { fingerprint, renderNarInfo } from './narinfo.ts'
import { loadSigner } from './signing.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cartenix-key-'))
  await runNix('nix-store', ['--generate-binary-cache-key', 'cartenix-test-1', join(dir, 'secret'), join(dir, 'public')])
})

const entry = {
  path: '/nix/store/q7zip37jsdkwwr66b8k2sygg17p57kax-hello-2.10',
  narHash: '0xcd9db9aeb71d41d9aada5ceac8ee5663c65426cf1dac7c67dd4a918dd882583c',
  narSize: 279320n,
  references: ['/nix/store/q7zip37jsdkwwr66b8k2sygg17p57kax-hello-2.10', '/nix/store/hlqawym1ccv9bnir41nyv9qw48vwf7nr-cartenix-seed-amd64'],
  deriver: '/nix/store/r3kbyxyr54ybrskw86g2cq6pmkzdllqa-hello-2.10.drv',
} as const

describe('narinfo signing', () => {
  it("reads Nix's secret key, gives Nix's public key, and signs the fingerprint so that the public key verifies it", async () => {
    const signer = await loadSigner(join(dir, 'secret'))
    expect(signer.publicKey).toBe((await readFile(join(dir, 'public'), 'utf8')).trim())
    const text = fingerprint(entry)
    expect(text).toBe(
      '1;/nix/store/q7zip37jsdkwwr66b8k2sygg17p57kax-hello-2.10;sha256:0g2qhbc8v4aavmkprb0xrwk59ik3avpcisjwvamdjh8xnypbk7fd;279320;' +
        '/nix/store/hlqawym1ccv9bnir41nyv9qw48vwf7nr-cartenix-seed-amd64,/nix/store/q7zip37jsdkwwr66b8k2sygg17p57kax-hello-2.10',
    )
    const [name, signature] = signer.sign(text).split(':')
    expect(name).toBe('cartenix-test-1')
    const raw = Buffer.from(signer.publicKey.split(':')[1] ?? '', 'base64')
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' })
    expect(verify(null, Buffer.from(text), key, Buffer.from(signature ?? '', 'base64'))).toBe(true)
    expect(verify(null, Buffer.from(text.replace('279320', '279321')), key, Buffer.from(signature ?? '', 'base64'))).toBe(false)
  })

  it('writes the narinfo fields Nix reads, references as sorted basenames', async () => {
    const text = renderNarInfo(entry, 'nar/q7zip37jsdkwwr66b8k2sygg17p57kax.nar', await loadSigner(join(dir, 'secret')))
    expect(text).toMatch(/^StorePath: \/nix\/store\/q7zip37jsdkwwr66b8k2sygg17p57kax-hello-2\.10\nURL: nar\/q7zip37jsdkwwr66b8k2sygg17p57kax\.nar\nCompression: none\n/)
    expect(text).toContain('\nNarHash: sha256:0g2qhbc8v4aavmkprb0xrwk59ik3avpcisjwvamdjh8xnypbk7fd\nNarSize: 279320\n')
    expect(text).toContain('\nReferences: hlqawym1ccv9bnir41nyv9qw48vwf7nr-cartenix-seed-amd64 q7zip37jsdkwwr66b8k2sygg17p57kax-hello-2.10\n')
    expect(text).toContain('\nDeriver: r3kbyxyr54ybrskw86g2cq6pmkzdllqa-hello-2.10.drv\nSig: cartenix-test-1:')
  })

  it('refuses a public key, a malformed file and a missing file with a reason', async () => {
    await expect(loadSigner(join(dir, 'public'))).rejects.toThrow(/32 bytes, an ed25519 secret key is 64 \(is this the public key\?\)/)
    await writeFile(join(dir, 'garbage'), 'no colon here')
    await expect(loadSigner(join(dir, 'garbage'))).rejects.toThrow(/not of the form name:base64/)
    const secret = (await readFile(join(dir, 'secret'), 'utf8')).trim()
    const bytes = Buffer.from(secret.split(':')[1] ?? '', 'base64')
    bytes[40] = (bytes[40] ?? 0) ^ 1
    await writeFile(join(dir, 'mismatched'), `x:${bytes.toString('base64')}`)
    await expect(loadSigner(join(dir, 'mismatched'))).rejects.toThrow(/public half does not belong/)
    await expect(loadSigner(join(dir, 'absent'))).rejects.toBeInstanceOf(SigningKeyError)
  })
})
