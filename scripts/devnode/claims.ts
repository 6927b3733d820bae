/**
 * Claims: for each epoch whose outputs root is computed, this node's key submits the root to the
 * application's consensus, and the epoch follows what the chain says.
 *
 * - An Authority accepts its owner's claim at once: CLAIM_COMPUTED → CLAIM_ACCEPTED.
 * - A Quorum accepts a root once 1 + N/2 of its validators submitted it: the epoch is
 *   CLAIM_SUBMITTED after this key's vote, CLAIM_ACCEPTED when the chain accepts this root, and
 *   CLAIM_REJECTED when it accepts another (a majority voted for a root this node did not compute:
 *   logged loudly). A key that voted already in the epoch (before a restart) does not vote again.
 *
 * A root the consensus already holds (after a restart) is not submitted twice. A reverted claim
 * is CLAIM_REJECTED.
 */
import type { Address, Hex, PublicClient, WalletClient } from 'viem'
import { authorityAbi, quorumAbi } from '../../contracts-client/abi/rollups.ts'
import type { EpochRecord, NodeState } from './state.ts'

export type ClaimContext = {
  state: NodeState
  public: PublicClient
  /** Signs as the Authority's owner, or as one of the Quorum's validators. */
  wallet: WalletClient
  /** Writes the node's state to disk; each status change is saved before the next step. */
  save: () => Promise<void>
  log: (line: string) => void
}

export async function submitClaims({ state, public: chain, wallet, save, log }: ClaimContext): Promise<void> {
  const { application, consensus, consensusType } = state.deployment
  const me = wallet.account?.address
  if (!me) throw new Error('The wallet client has no account to submit claims with')
  const isValid = (root: Hex) => chain.readContract({ address: consensus, abi: authorityAbi, functionName: 'isOutputsMerkleRootValid', args: [application, root] })
  const settle = async (epoch: EpochRecord, status: EpochRecord['status'], line: string) => {
    epoch.status = status
    epoch.updatedAt = new Date().toISOString()
    await save()
    log(`dev node: epoch ${epoch.index} ${line}`)
  }

  for (const epoch of state.epochs.filter((e) => (e.status === 'CLAIM_COMPUTED' || e.status === 'CLAIM_SUBMITTED') && e.claimHash)) {
    const root = epoch.claimHash as Hex
    if (await isValid(root)) {
      await settle(epoch, 'CLAIM_ACCEPTED', `claim accepted (${root})`)
      continue
    }
    if (consensusType === 'QUORUM') {
      const accepted = await acceptedRoot(chain, consensus, application, epoch.lastBlock)
      if (accepted !== undefined) {
        await settle(epoch, 'CLAIM_REJECTED', `ACCEPTED ROOT DIFFERS: the Quorum accepted ${accepted}, and this node computed ${root}`)
        continue
      }
      const id = await chain.readContract({ address: consensus, abi: quorumAbi, functionName: 'validatorId', args: [me] })
      if (id === 0n) throw new Error(`${me} is not a validator of the Quorum ${consensus}: it cannot vote`)
      const voted = await chain.readContract({ address: consensus, abi: quorumAbi, functionName: 'isValidatorInFavorOfAnyClaimInEpoch', args: [application, BigInt(epoch.lastBlock), id] })
      if (voted) {
        // This key's vote is on the chain (cast before a restart): wait for the others.
        if (epoch.status !== 'CLAIM_SUBMITTED') await settle(epoch, 'CLAIM_SUBMITTED', `vote already cast by ${me}; waiting for the other validators`)
        continue
      }
    }
    const hash = await wallet.writeContract({
      address: consensus,
      abi: authorityAbi,
      functionName: 'submitClaim',
      args: [application, BigInt(epoch.lastBlock), root],
      chain: wallet.chain,
      account: wallet.account ?? null,
    })
    epoch.claimTransactionHash = hash
    await settle(epoch, 'CLAIM_SUBMITTED', `claim ${root} submitted by ${me} (transaction ${hash})`)
    const receipt = await chain.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') {
      await settle(epoch, 'CLAIM_REJECTED', `claim reverted (transaction ${hash})`)
      throw new Error(`Claim for epoch ${epoch.index} reverted (transaction ${hash})`)
    }
    if (await isValid(root)) await settle(epoch, 'CLAIM_ACCEPTED', `claim accepted (${root})`)
  }
}

/** The root a Quorum accepted for the epoch ending at `lastBlock`, if any. */
async function acceptedRoot(chain: PublicClient, consensus: Address, application: Address, lastBlock: number): Promise<Hex | undefined> {
  const events = await chain.getContractEvents({ address: consensus, abi: quorumAbi, eventName: 'ClaimAccepted', fromBlock: BigInt(lastBlock) })
  const mine = events.find((e) => e.args.appContract?.toLowerCase() === application.toLowerCase() && e.args.lastProcessedBlockNumber === BigInt(lastBlock))
  return mine?.args.outputsMerkleRoot
}
