/**
 * The outputs Merkle tree of Cartesi Rollups v2: height 63, leaves keccak256(output), empty leaves
 * 32 zero bytes, parent keccak256(left ‖ right). It grows from genesis and never resets.
 *
 * Only the levels that N leaves reach (⌈log₂ N⌉) are stored and updated: appending hashes one
 * node per such level, O(log N); above them every sibling is a pristine (empty) subtree, so the
 * root and the proofs fold the pristine hashes in when they are asked for.
 */
import { bytesToHex, concat, hexToBytes, keccak256, type Hex } from 'viem'

export const outputsTreeHeight = 63

const hashPair = (left: Uint8Array, right: Uint8Array): Uint8Array => {
  const both = new Uint8Array(64)
  both.set(left, 0)
  both.set(right, 32)
  return keccak256(both, 'bytes')
}

const pristineBytes: readonly Uint8Array[] = (() => {
  const hashes: Uint8Array[] = [new Uint8Array(32)]
  for (let h = 1; h <= outputsTreeHeight; h++) {
    const below = hashes[h - 1] as Uint8Array
    hashes.push(hashPair(below, below))
  }
  return hashes
})()

/** pristine[h]: the root of an empty subtree of height h. */
export const pristine: readonly Hex[] = pristineBytes.map((bytes) => bytesToHex(bytes))

/** The height of the smallest subtree that holds `size` leaves. */
const heightFor = (size: number): number => (size <= 1 ? 0 : Math.ceil(Math.log2(size)))

export class OutputsMerkleTree {
  /** levels[h][k]: node k at height h, for the nodes that cover at least one leaf. */
  readonly #levels: Uint8Array[][] = Array.from({ length: outputsTreeHeight + 1 }, () => [])

  constructor(leaves: readonly Hex[] = []) {
    for (const leaf of leaves) this.append(leaf)
  }

  get size(): number {
    return this.#levels[0]?.length ?? 0
  }

  /** Adds the hash of the next output; returns its index. */
  append(leaf: Hex): number {
    const index = this.size
    const top = heightFor(index + 1)
    let k = index
    let node = hexToBytes(leaf)
    for (let h = 0; ; h++) {
      const level = this.#levels[h] as Uint8Array[]
      level[k] = node
      if (h === top) break
      node = k % 2 === 0 ? hashPair(node, pristineBytes[h] as Uint8Array) : hashPair(level[k - 1] as Uint8Array, node)
      k >>= 1
    }
    return index
  }

  root(): Hex {
    if (this.size === 0) return pristine[outputsTreeHeight] as Hex
    const top = heightFor(this.size)
    let node = this.#levels[top]?.[0] as Uint8Array
    for (let h = top; h < outputsTreeHeight; h++) node = hashPair(node, pristineBytes[h] as Uint8Array)
    return bytesToHex(node)
  }

  /** The 63 siblings of a leaf, bottom-up, against the tree as it is now. */
  siblings(index: number): Hex[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`No output ${index} in a tree of ${this.size}`)
    }
    const top = heightFor(this.size)
    const siblings: Hex[] = []
    let k = index
    for (let h = 0; h < outputsTreeHeight; h++) {
      const stored = h < top ? this.#levels[h]?.[k ^ 1] : undefined
      siblings.push(stored ? bytesToHex(stored) : (pristine[h] as Hex))
      k >>= 1
    }
    return siblings
  }
}

/** Recomputes the root from a leaf and its siblings, as Application.validateOutput does. */
export function rootFromProof(leaf: Hex, index: bigint, siblings: readonly Hex[]): Hex {
  let node = leaf
  siblings.forEach((sibling, h) => {
    node = (index >> BigInt(h)) & 1n ? keccak256(concat([sibling, node])) : keccak256(concat([node, sibling]))
  })
  return node
}
