/**
 * ABIs and bytecode of the Cartesi Rollups v2.2.0 contracts, taken from the forge artifacts that
 * the npm package `@cartesi/rollups` ships (`out/<Name>.sol/<Name>.json`).
 */
import { createRequire } from 'node:module'
import type { Abi, Hex } from 'viem'

type Artifact = { abi: Abi; bytecode: { object: Hex } }

const require = createRequire(import.meta.url)
const artifact = (name: string): Artifact => require(`@cartesi/rollups/out/${name}.sol/${name}.json`) as Artifact

export const rollupsArtifacts = {
  InputBox: artifact('InputBox'),
  EtherPortal: artifact('EtherPortal'),
  Authority: artifact('Authority'),
  Application: artifact('Application'),
  Inputs: artifact('Inputs'),
  Outputs: artifact('Outputs'),
  DataAvailability: artifact('DataAvailability'),
} as const

export const inputBoxAbi = rollupsArtifacts.InputBox.abi
export const etherPortalAbi = rollupsArtifacts.EtherPortal.abi
export const authorityAbi = rollupsArtifacts.Authority.abi
export const applicationAbi = rollupsArtifacts.Application.abi
/** `EvmAdvance(...)`, the encoding of every input the InputBox adds. */
export const inputsAbi = rollupsArtifacts.Inputs.abi
/** `Notice(bytes)`, `Voucher(address,uint256,bytes)`, `DelegateCallVoucher(address,bytes)`. */
export const outputsAbi = rollupsArtifacts.Outputs.abi
export const dataAvailabilityAbi = rollupsArtifacts.DataAvailability.abi
