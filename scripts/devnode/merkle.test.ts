import { describe, expect, it } from 'vitest'
import { keccak256, toHex } from 'viem'
import { OutputsMerkleTree, pristine, rootFromProof } from './merkle.ts'

const leaf = (i: number) => keccak256(toHex(`output ${i}`))

describe('OutputsMerkleTree', () => {
  it('starts at the documented empty root', () => {
    expect(new OutputsMerkleTree().root()).toBe('0x0a162946e56158bac0673e6dd3bdfdc1e4a0e7744a120fdb640050c8d7abe1c6')
    expect(pristine[63]).toBe('0x0a162946e56158bac0673e6dd3bdfdc1e4a0e7744a120fdb640050c8d7abe1c6')
  })

  it('gives every leaf 63 siblings that rebuild the current root', () => {
    const tree = new OutputsMerkleTree()
    for (let i = 0; i < 37; i++) {
      tree.append(leaf(i))
      for (const j of [0, i >> 1, i]) {
        const siblings = tree.siblings(j)
        expect(siblings).toHaveLength(63)
        expect(rootFromProof(leaf(j), BigInt(j), siblings)).toBe(tree.root())
      }
    }
  })

  it('changes its root when any leaf changes, and refuses an index it does not have', () => {
    const a = new OutputsMerkleTree([leaf(0), leaf(1), leaf(2)])
    const b = new OutputsMerkleTree([leaf(0), leaf(9), leaf(2)])
    expect(a.root()).not.toBe(b.root())
    expect(rootFromProof(leaf(1), 1n, a.siblings(1))).not.toBe(b.root())
    expect(() => a.siblings(3)).toThrow(RangeError)
  })
})
