/**
 * Claims: for each epoch whose outputs root is computed, this node's key submits the root to the
 * application's consensus, and the epoch follows what the chain says.
 *
 * - An Authority accepts its owner's claim at once: CLAIM_COMPUTED → CLAIM_ACCEPTED.
 * - A Quorum accepts a root once 1 + N/2 of its validators submitted it: the epoch is
 *   CLAIM_SUBMITTED after this key's vote, CLAIM_ACCEPTED when the chain accepts this root, and
 *   CLAIM_REJECTED when it accepts another (a majority voted for a root this node did not compute:
 *   logged loudly; this key still votes its own root, so the dissent is on the chain). A key that
 *   voted already in the epoch (before a restart) does not vote again.
 *
 * A root the consensus already holds (after a restart) is not submitted twice. A reverted claim
 * is CLAIM_REJECTED. A node that does not vote (a devnet whose Quorum's validators run on their
 * own) only follows: CLAIM_COMPUTED, CLAIM_SUBMITTED once a validator voted its root, and
 * CLAIM_ACCEPTED when the chain accepts it.
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
  /** Submit this node's roots (default), or only follow what the chain accepts (a Quorum's validators vote on their own). */
  vote?: boolean
  /**
   * The chain's latest block. An epoch waiting for other votes is looked at again only in a new
   * block, since only a transaction can change what the Quorum holds (the node ticks far more
   * often than blocks come on a public chain).
   */
  latestBlock?: bigint
}

/** The block at which each epoch waiting for a Quorum was last looked at (kept in memory only). */
const lookedAt = new WeakMap<EpochRecord, bigint>()

export async function submitClaims({ state, public: chain, wallet, save, log, vote = true, latestBlock }: ClaimContext): Promise<void> {
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
    if (consensusType === 'QUORUM') {
      // Looked at in full in this block already: nothing on the chain can have changed since.
      if (latestBlock !== undefined && lookedAt.get(epoch) === latestBlock) continue
      const accepted = await acceptedRoot(chain, consensus, application, epoch.lastBlock)
      if (vote) {
        const id = await chain.readContract({ address: consensus, abi: quorumAbi, functionName: 'validatorId', args: [me] })
        if (id === 0n) throw new Error(`${me} is not a validator of the Quorum ${consensus}: it cannot vote`)
        const voted = await chain.readContract({ address: consensus, abi: quorumAbi, functionName: 'isValidatorInFavorOfAnyClaimInEpoch', args: [application, BigInt(epoch.lastBlock), id] })
        // A validator votes even when a majority has accepted a root already, the same or
        // another: each vote is on the chain for anyone to check, dissent included. Never twice
        // (its vote may predate a restart).
        if (!voted) {
          await cast(epoch, root)
        } else if (epoch.status !== 'CLAIM_SUBMITTED' && accepted === undefined) {
          await settle(epoch, 'CLAIM_SUBMITTED', `vote already cast by ${me}; waiting for the other validators`)
        }
      } else if (epoch.status === 'CLAIM_COMPUTED' && accepted === undefined) {
        // A node that only reads: its root is submitted once a validator has voted for it.
        const votes = await chain.readContract({ address: consensus, abi: quorumAbi, functionName: 'numOfValidatorsInFavorOf', args: [application, BigInt(epoch.lastBlock), root] })
        if (votes > 0n) await settle(epoch, 'CLAIM_SUBMITTED', `${votes} of the Quorum's ${state.deployment.validators.length} validators voted this node's root ${root}`)
      }
      if (accepted !== undefined && accepted.toLowerCase() !== root.toLowerCase()) {
        await settle(epoch, 'CLAIM_REJECTED', `ACCEPTED ROOT DIFFERS: the Quorum accepted ${accepted}, and this node computed ${root}`)
      } else if (accepted !== undefined || (await isValid(root))) {
        await settle(epoch, 'CLAIM_ACCEPTED', `claim accepted (${root})`)
      } else if (latestBlock !== undefined) {
        // Only once every step passed: an epoch whose look failed is looked at again at once.
        lookedAt.set(epoch, latestBlock)
      }
      continue
    }
    if (await isValid(root)) {
      await settle(epoch, 'CLAIM_ACCEPTED', `claim accepted (${root})`)
      continue
    }
    if (!vote) continue
    await cast(epoch, root)
    if (await isValid(root)) await settle(epoch, 'CLAIM_ACCEPTED', `claim accepted (${root})`)
  }

  async function cast(epoch: EpochRecord, root: Hex): Promise<void> {
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
  }
}

/** The root a Quorum accepted for the epoch ending at `lastBlock`, if any. */
export async function acceptedRoot(chain: PublicClient, consensus: Address, application: Address, lastBlock: number): Promise<Hex | undefined> {
  const events = await chain.getContractEvents({ address: consensus, abi: quorumAbi, eventName: 'ClaimAccepted', fromBlock: BigInt(lastBlock) })
  const mine = events.find((e) => e.args.appContract?.toLowerCase() === application.toLowerCase() && e.args.lastProcessedBlockNumber === BigInt(lastBlock))
  return mine?.args.outputsMerkleRoot
}
