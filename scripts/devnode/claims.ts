/**
 * Claims through the devnet's Authority: for each epoch whose outputs root is computed, the
 * owner submits the root (unless the Authority already holds it, as after a restart) and the
 * epoch is CLAIM_ACCEPTED once the transaction succeeds; a reverted claim is CLAIM_REJECTED.
 */
import type { Hex, PublicClient, WalletClient } from 'viem'
import { authorityAbi } from '../../contracts-client/abi/rollups.ts'
import type { NodeState } from './state.ts'

export type ClaimContext = {
  state: NodeState
  public: PublicClient
  /** Signs as the Authority's owner. */
  wallet: WalletClient
  /** Writes the node's state to disk; each status change is saved before the next step. */
  save: () => Promise<void>
  log: (line: string) => void
}

export async function submitAuthorityClaims({ state, public: chain, wallet, save, log }: ClaimContext): Promise<void> {
  const { application, authority } = state.deployment
  for (const epoch of state.epochs.filter((e) => e.status === 'CLAIM_COMPUTED' && e.claimHash)) {
    const root = epoch.claimHash as Hex
    const valid = await chain.readContract({ address: authority, abi: authorityAbi, functionName: 'isOutputsMerkleRootValid', args: [application, root] })
    if (!valid) {
      const hash = await wallet.writeContract({
        address: authority,
        abi: authorityAbi,
        functionName: 'submitClaim',
        args: [application, BigInt(epoch.lastBlock), root],
        chain: wallet.chain,
        account: wallet.account ?? null,
      })
      epoch.claimTransactionHash = hash
      epoch.status = 'CLAIM_SUBMITTED'
      await save()
      const receipt = await chain.waitForTransactionReceipt({ hash })
      if (receipt.status !== 'success') {
        epoch.status = 'CLAIM_REJECTED'
        await save()
        throw new Error(`Claim for epoch ${epoch.index} reverted (transaction ${hash})`)
      }
    }
    epoch.status = 'CLAIM_ACCEPTED'
    epoch.updatedAt = new Date().toISOString()
    await save()
    log(`dev node: epoch ${epoch.index} claim accepted`)
  }
}
