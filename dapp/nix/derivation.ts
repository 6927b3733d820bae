import { readFile } from 'node:fs/promises'
import { pathOnDisk } from './env.ts'

/** One output of a derivation, as the .drv file records it. */
export type DerivationOutput = {
  name: string
  path: string
  /** Empty for ordinary outputs; `sha256` (flat) or `r:sha256` (recursive) for fixed outputs. */
  hashAlgo: string
  /** Hex digest of a fixed output; empty otherwise. */
  hash: string
}

/**
 * Reads the outputs of a .drv file. The ATerm format (`Derive([("out","/nix/store/…","r:sha256","…"),…],…)`)
 * is the same from Nix 2.8 to 2.26, unlike the JSON of `nix show-derivation`, so it is read directly.
 */
export async function readDerivationOutputs(drvPath: string): Promise<DerivationOutput[]> {
  return parseDerivationOutputs(await readFile(pathOnDisk(drvPath), 'utf8'), drvPath)
}

export function parseDerivationOutputs(aterm: string, origin = 'derivation'): DerivationOutput[] {
  if (!aterm.startsWith('Derive([')) throw new Error(`Not a derivation in ATerm form: ${origin}`)
  const outputs: DerivationOutput[] = []
  let position = 'Derive(['.length
  const readString = (): string => {
    if (aterm[position] !== '"') throw new Error(`Malformed derivation ${origin} at offset ${position}`)
    let value = ''
    position++
    while (aterm[position] !== '"') {
      if (position >= aterm.length) throw new Error(`Unterminated string in derivation ${origin}`)
      if (aterm[position] === '\\') position++
      value += aterm[position]
      position++
    }
    position++
    return value
  }
  const expect = (char: string) => {
    if (aterm[position] !== char) throw new Error(`Malformed derivation ${origin}: expected "${char}" at offset ${position}`)
    position++
  }
  while (aterm[position] === '(') {
    position++
    const name = readString()
    expect(',')
    const path = readString()
    expect(',')
    const hashAlgo = readString()
    expect(',')
    const hash = readString()
    expect(')')
    outputs.push({ name, path, hashAlgo, hash })
    if (aterm[position] === ',') position++
  }
  expect(']')
  return outputs
}

/** The name part of a store path: `/nix/store/<hash>-hello-2.10.tar.gz` → `hello-2.10.tar.gz`. */
export function storePathName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1)
  return base.slice(base.indexOf('-') + 1)
}
