import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { SigningKeyError } from '../errors/cache.ts'

export type NarInfoSigner = {
  /** The key's name, as in `Sig: name:…`. */
  name: string
  /** What a user adds to `trusted-public-keys`: `name:<base64 of the 32-byte public key>`. */
  publicKey: string
  /** `name:<base64 ed25519 signature>` over the fingerprint. */
  sign: (fingerprint: string) => string
}

const base64url = (bytes: Buffer) => bytes.toString('base64url')

/**
 * Reads a secret key as `nix-store --generate-binary-cache-key` writes it:
 * `name:base64(32-byte seed ‖ 32-byte public key)`. Signing uses Node's own ed25519.
 */
export async function loadSigner(file: string): Promise<NarInfoSigner> {
  const text = (await readFile(file, 'utf8').catch((cause: unknown) => {
    throw new SigningKeyError({ file, problem: 'it cannot be read', cause })
  })).trim()
  const colon = text.indexOf(':')
  if (colon <= 0) throw new SigningKeyError({ file, problem: 'it is not of the form name:base64' })
  const name = text.slice(0, colon)
  const secret = Buffer.from(text.slice(colon + 1), 'base64')
  if (secret.length !== 64) throw new SigningKeyError({ file, problem: `its key is ${secret.length} bytes, an ed25519 secret key is 64 (is this the public key?)` })
  const seed = secret.subarray(0, 32)
  const pub = secret.subarray(32)
  let key: KeyObject
  try {
    key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: base64url(seed), x: base64url(pub) }, format: 'jwk' })
  } catch (cause) {
    throw new SigningKeyError({ file, problem: 'its bytes are not an ed25519 key', cause })
  }
  // The public half stored in the file must be the seed's, or every signature would fail to verify.
  const derived = Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x ?? '', 'base64url')
  if (!derived.equals(pub)) throw new SigningKeyError({ file, problem: 'its public half does not belong to its secret half' })
  return {
    name,
    publicKey: `${name}:${pub.toString('base64')}`,
    sign: (fingerprint) => `${name}:${sign(null, Buffer.from(fingerprint), key).toString('base64')}`,
  }
}
