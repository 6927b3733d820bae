/**
 * The outputs Merkle tree of Cartesi Rollups v2: height 63, leaves keccak256(output), empty leaves
 * 32 zero bytes, parent keccak256(left ‖ right). It grows from genesis and never resets.
 *
 * Each level keeps its non-pristine nodes, so appending touches one node per level (O(height)),
 * the root is read from the top, and a proof is one lookup per level.
 */
import { concat, keccak256, type Hex } from 'viem'

export const outputsTreeHeight = 63

/** pristine[h]: the root of an empty subtree of height h. */
export const pristine: readonly Hex[] = (() => {
  const hashes: Hex[] = [`0x${'00'.repeat(32)}`]
  for (let h = 1; h <= outputsTreeHeight; h++) {
    const below = hashes[h - 1] as Hex
    hashes.push(keccak256(concat([below, below])))
  }
  return hashes
})()

export class OutputsMerkleTree {
  /** levels[h][k]: node k at height h, for the nodes that cover at least one leaf. */
  readonly #levels: Hex[][] = Array.from({ length: outputsTreeHeight + 1 }, () => [])

  constructor(leaves: readonly Hex[] = []) {
    for (const leaf of leaves) this.append(leaf)
  }

  get size(): number {
    return this.#levels[0]?.length ?? 0
  }

  /** Adds the hash of the next output; returns its index. */
  append(leaf: Hex): number {
    const index = this.size
    let k = index
    let node = leaf
    for (let h = 0; h <= outputsTreeHeight; h++) {
      const level = this.#levels[h] as Hex[]
      level[k] = node
      if (h === outputsTreeHeight) break
      const left = k % 2 === 0 ? node : (level[k - 1] as Hex)
      const right = k % 2 === 0 ? pristine[h] : node
      node = keccak256(concat([left, right as Hex]))
      k >>= 1
    }
    return index
  }

  root(): Hex {
    return this.#levels[outputsTreeHeight]?.[0] ?? (pristine[outputsTreeHeight] as Hex)
  }

  /** The 63 siblings of a leaf, bottom-up, against the tree as it is now. */
  siblings(index: number): Hex[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`No output ${index} in a tree of ${this.size}`)
    }
    const siblings: Hex[] = []
    let k = index
    for (let h = 0; h < outputsTreeHeight; h++) {
      siblings.push(this.#levels[h]?.[k ^ 1] ?? (pristine[h] as Hex))
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
