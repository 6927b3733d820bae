/**
 * The forge artifacts of the Cartesi Rollups contracts as the npm package `@cartesi/rollups` ships
 * them (`out/<Name>.sol/<Name>.json`), read at run time: Node only. Deploying needs their
 * bytecode; everything else takes the ABIs committed in `rollups.ts`, which `npm run abi` writes
 * from these and `rollups.test.ts` checks against them.
 */
import { createRequire } from 'node:module'
import type { Abi, Hex } from 'viem'

export type RollupsArtifact = { abi: Abi; bytecode: { object: Hex } }

/** The contracts whose ABIs the client uses, by the names of their artifacts. */
export const rollupsContracts = ['InputBox', 'EtherPortal', 'Authority', 'Quorum', 'Application', 'Inputs', 'Outputs', 'DataAvailability'] as const

export type RollupsContract = (typeof rollupsContracts)[number]

const require = createRequire(import.meta.url)

export const rollupsArtifact = (name: RollupsContract): RollupsArtifact => require(`@cartesi/rollups/out/${name}.sol/${name}.json`) as RollupsArtifact

/** The version of `@cartesi/rollups` the artifacts come from. */
export const rollupsVersion = (require('@cartesi/rollups/package.json') as { version: string }).version

export const rollupsArtifacts = Object.fromEntries(rollupsContracts.map((name) => [name, rollupsArtifact(name)])) as Record<RollupsContract, RollupsArtifact>
