import { describe, expect, it } from 'vitest'
import { compileContract } from './compile.ts'
import { cartenixRegistryAbi } from './registryAbi.ts'

describe('the committed registry ABI', () => {
  it('is what solc makes of CartenixRegistry.sol (else run npm run abi)', async () => {
    const { abi } = await compileContract('CartenixRegistry')
    expect(cartenixRegistryAbi).toEqual(abi)
  })
})
