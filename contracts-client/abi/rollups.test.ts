import { describe, expect, it } from 'vitest'
import { rollupsArtifact, rollupsContracts } from './artifacts.ts'
import * as committed from './rollups.ts'

describe('the committed rollups ABIs', () => {
  it('are the ABIs of the @cartesi/rollups artifacts, all of each (else run npm run abi)', () => {
    const fromArtifacts = Object.fromEntries(rollupsContracts.map((name) => [`${name[0]?.toLowerCase()}${name.slice(1)}Abi`, rollupsArtifact(name).abi]))
    expect({ ...committed }).toEqual(fromArtifacts)
  })
})
