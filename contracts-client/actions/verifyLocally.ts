import { keccak256, type Hex } from 'viem'
import type { BuildResult } from '../../dapp/protocol/buildResult.ts'
import { CartenixError } from '../../dapp/lib/errors.ts'
import { parseBuildRequest } from '../../dapp/protocol/request.ts'
import { buildDerivation } from '../../dapp/nix/build.ts'
import { BuildFailedError } from '../../dapp/nix/errors.ts'
import { currentSystem } from '../../dapp/nix/env.ts'
import { narHashToHex } from '../../dapp/protocol/narHash.ts'
import { instantiate } from '../../dapp/nix/instantiate.ts'
import { invalidPaths } from '../../dapp/nix/store.ts'

export type VerifyLocallyParameters = {
  /** The notice's result. */
  result: BuildResult
  /** The request the notice answers: its bytes (see requestBytes) hash to the notice's requestHash. */
  request: Hex
}

export type OutputComparison = { name: string; claimed: Hex; local: Hex | undefined; matches: boolean }

export type VerifyLocallyReturnType = {
  /** Everything checked agrees: same drvPath, and every output built here has the claimed NAR hash. */
  verified: boolean
  localDrvPath: string
  drvPathMatches: boolean
  /** Set when the outputs could not be built here (another system, or a failed notice). */
  notBuilt?: string
  /** `fresh`: built here from sources; `checked`: already in the store, rebuilt and compared bit for bit. */
  rebuilt?: 'fresh' | 'checked'
  outputs: OutputComparison[]
}

/**
 * The user's own check, trusting no one: instantiates the same request with the local Nix and
 * package set, compares the drvPath, builds it in the local sandbox and compares NAR hashes.
 *
 * @example
 * const { verified } = await verifyLocally({ result: notice.result, request: input.payload })
 */
export async function verifyLocally(parameters: VerifyLocallyParameters): Promise<VerifyLocallyReturnType> {
  const { result, request } = parameters
  if (keccak256(request) !== result.requestHash) {
    throw new CartenixError(`The request bytes do not hash to the notice's requestHash ${result.requestHash}`)
  }
  const parsed = parseBuildRequest(request)
  if (!parsed.ok) throw new CartenixError(`The notice answers a request that does not parse: ${parsed.reason}`)
  const [localDrvPath = ''] = await instantiate(parsed.request.target, { system: result.system })
  const drvPathMatches = localDrvPath === result.drvPath
  const base = { localDrvPath, drvPathMatches }
  if (!drvPathMatches) return { ...base, verified: false, notBuilt: 'the local package set gives another derivation', outputs: [] }
  const here = await currentSystem()
  if (result.system !== here) return { ...base, verified: false, notBuilt: `this machine builds ${here}, the notice is for ${result.system}`, outputs: [] }
  // Outputs already in this store (say, from the same machine's back end) prove nothing: rebuild
  // them with --check, which fails unless the new build is bit for bit the same.
  const present = (await invalidPaths(result.outputs.map((o) => o.path))).size === 0 && result.outputs.length > 0
  const built = await buildDerivation(localDrvPath, { check: present }).catch((error: unknown) => {
    if (error instanceof BuildFailedError) return undefined
    throw error
  })
  if (!built || !result.success) {
    // A failed build is verified by failing here too; a success by succeeding with the same hashes.
    const agrees = !built && !result.success
    return { ...base, verified: agrees, notBuilt: built ? 'the notice records a failure, but it built here' : 'the build fails here', outputs: [] }
  }
  const outputs = result.outputs.map((claimed) => {
    const mine = built.outputs.find((o) => o.name === claimed.name)
    const local = mine ? narHashToHex(mine.narHash) : undefined
    return { name: claimed.name, claimed: claimed.narHash, local, matches: local === claimed.narHash && mine?.path === claimed.path }
  })
  return { ...base, rebuilt: present ? 'checked' : 'fresh', verified: outputs.length > 0 && outputs.every((o) => o.matches), outputs }
}
