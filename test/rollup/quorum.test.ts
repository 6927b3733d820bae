/**
 * A devnet on the 2.2.0 Quorum of three validators (anvil's accounts 0, 2 and 3), with the dev
 * node voting as the first: a root is accepted once two of three submitted it, a forged root
 * one liar submits is not, and two liars together get theirs accepted (the trust model), which
 * the node then names; replay names the liar among the votes, and `cartenix outputs` shows it
 * beside the accepted root. The other validators' votes are sent by hand here.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWalletClient, encodeFunctionData, http, keccak256, toHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import { outputsAbi, quorumAbi } from '../../contracts-client/abi/rollups.ts'
import { encodeBuildResult } from '../../dapp/protocol/buildResult.ts'
import { OutputsMerkleTree, rootFromProof } from '../../scripts/devnode/merkle.ts'
import { createNodeClient, validateNotice, waitForResult } from '../../contracts-client/index.ts'
import { devAccountKey, devValidatorKeys } from '../../scripts/devnode/anvil.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { exec } from '../../dapp/lib/exec.ts'
import { repoRoot } from '../../dapp/lib/paths.ts'
import { replay } from '../../scripts/replay/replay.ts'
import { addInput, clients, rpc, rpcWire, startTestDevnet, waitFor, waitForInput } from '../harness/devnet.ts'

const cli = join(repoRoot, 'bin/cartenix.js')
const owner = privateKeyToAccount(devAccountKey)
const [second, third] = devValidatorKeys.map((key) => privateKeyToAccount(key)) as [ReturnType<typeof privateKeyToAccount>, ReturnType<typeof privateKeyToAccount>]
let devnet: Devnet
beforeAll(async () => {
  devnet = await startTestDevnet({ quorumValidators: [owner, second, third].map((a) => a.address) })
})
afterAll(async () => {
  await devnet?.stop()
})

const vote = async (account: typeof second, lastBlock: number, root: Hex) => {
  const wallet = createWalletClient({ chain: anvil, transport: http(devnet.chainUrl), account })
  const hash = await wallet.writeContract({ address: devnet.deployment.consensus, abi: quorumAbi, functionName: 'submitClaim', args: [devnet.deployment.application, BigInt(lastBlock), root] })
  expect((await clients(devnet).publicClient.waitForTransactionReceipt({ hash })).status).toBe('success')
}
const inFavour = (lastBlock: number, root: Hex) =>
  clients(devnet).publicClient.readContract({ address: devnet.deployment.consensus, abi: quorumAbi, functionName: 'numOfValidatorsInFavorOf', args: [devnet.deployment.application, BigInt(lastBlock), root] })
const epochWith = (index: number, status: string) =>
  waitFor(`epoch ${index} ${status}`, async () => {
    const { data } = await rpc(devnet, 'cartesi_getEpoch', { epoch_index: toHex(index) })
    return data.status === status ? data : undefined
  }, 120_000)

describe('a devnet on a Quorum of three', () => {
  it('says so in the Application record, with the validators deployed in the Quorum', async () => {
    const { data } = (await rpcWire(devnet, 'cartesi_getApplication')) as { data: Record<string, unknown> }
    expect(data.consensus_type).toBe('QUORUM')
    expect(devnet.deployment.validators).toEqual([owner, second, third].map((a) => a.address))
  })

  it("accepts hello's root once two of three voted for it; a liar's forged root is not accepted", async () => {
    const index = await addInput(devnet, '{"attr":"hello"}')
    const input = await waitForInput(devnet, index)
    expect(input.status).toBe('ACCEPTED')
    // The node votes as validator 1, and waits for the others.
    const submitted = await epochWith(Number(input.epochIndex), 'CLAIM_SUBMITTED')
    const root = submitted.claimHash as Hex
    const lastBlock = Number(submitted.lastBlock)
    expect(await inFavour(lastBlock, root)).toBe(1n)
    const node = createNodeClient({ url: `${devnet.nodeUrl}/rpc` })
    const { notice } = await waitForResult(node, { application: devnet.deployment.application, inputIndex: BigInt(index) })
    const { data: output } = await rpc(devnet, 'cartesi_getOutput', { output_index: toHex(notice.index) })
    const validate = () => validateNotice(clients(devnet).publicClient, { application: devnet.deployment.application, output: { ...notice, ...output } as never })
    expect((await validate()).valid).toBe(false)

    // The liar's root: the same outputs, but hello's notice says another NAR hash.
    const forgedNotice = encodeFunctionData({ abi: outputsAbi, functionName: 'Notice', args: [encodeBuildResult({ ...notice.result, outputs: notice.result.outputs.map((o) => ({ ...o, narHash: keccak256(toHex('another NAR hash')) })) })] })
    const { data: all } = await rpc(devnet, 'cartesi_listOutputs', { limit: 1000 })
    const forgedTree = new OutputsMerkleTree(all.filter((o) => o.epochIndex <= BigInt(input.epochIndex)).map((o) => keccak256(o.index === notice.index ? forgedNotice : o.rawData)))
    const forged = forgedTree.root()
    // A proof that holds against the liar's root: it would validate, were that root accepted.
    expect(rootFromProof(keccak256(forgedNotice), notice.index, forgedTree.siblings(Number(notice.index)))).toBe(forged)
    const validateForged = () => validateNotice(clients(devnet).publicClient, { application: devnet.deployment.application, output: { index: notice.index, rawData: forgedNotice, siblings: forgedTree.siblings(Number(notice.index)) } })
    await vote(second, lastBlock, forged)
    expect(await inFavour(lastBlock, forged)).toBe(1n)
    expect((await validate()).valid).toBe(false)
    expect((await validateForged()).valid).toBe(false)

    await vote(third, lastBlock, root)
    expect(await inFavour(lastBlock, root)).toBe(2n)
    await epochWith(Number(input.epochIndex), 'CLAIM_ACCEPTED')
    expect((await validate()).valid).toBe(true)
    const valid = (r: Hex) => clients(devnet).publicClient.readContract({ address: devnet.deployment.consensus, abi: quorumAbi, functionName: 'isOutputsMerkleRootValid', args: [devnet.deployment.application, r] })
    expect(await valid(forged)).toBe(false)
    // The forged notice, with a proof that holds in the liar's tree, does not validate.
    expect((await validateForged()).valid).toBe(false)

    // Replay re-executes and names the liar among the three votes of that epoch.
    const report = await replay({ publicClient: clients(devnet).publicClient, chainUrl: devnet.chainUrl, application: devnet.deployment.application, etherPortal: devnet.deployment.etherPortal, system: 'x86_64-linux' })
    const votes = report.epochs.filter((e) => e.lastBlock === lastBlock)
    expect(votes.map((v) => [v.submitter, v.agrees])).toEqual([
      [owner.address, true],
      [second.address, false],
      [third.address, true],
    ])
    expect(report.agrees).toBe(false)

    // `cartenix outputs` reads the votes from the chain: the liar's stands out, in JSON and in words.
    const flags = ['--rpc-url', devnet.chainUrl, '--node-url', devnet.nodeUrl, '--application', devnet.deployment.application]
    const { stdout: json } = await exec(process.execPath, [cli, 'outputs', '--input', String(index), '--json', ...flags])
    const listed = JSON.parse(json) as { outputs: { index: string }[]; epochs: { epochIndex: string; acceptedRoot: string; votes: { submitter: string; root: string; agreesWithAccepted: boolean }[] }[] }
    expect(listed.outputs.map((o) => o.index)).toEqual([String(notice.index)])
    expect(listed.epochs).toEqual([
      {
        epochIndex: String(input.epochIndex),
        lastProcessedBlockNumber: String(lastBlock),
        acceptedRoot: root,
        votes: [
          { submitter: owner.address, root, agreesWithAccepted: true, transactionHash: expect.any(String) },
          { submitter: second.address, root: forged, agreesWithAccepted: false, transactionHash: expect.any(String) },
          { submitter: third.address, root, agreesWithAccepted: true, transactionHash: expect.any(String) },
        ],
      },
    ])
    const { stdout: words } = await exec(process.execPath, [cli, 'outputs', '--input', String(index), ...flags])
    expect(words).toContain(`epoch ${input.epochIndex}: accepted ${root}`)
    expect(words).toContain(`${second.address} voted ${forged}  DIFFERS from the accepted root`)
    expect(words).toContain(`${third.address} voted ${root}  agrees`)
  })

  it('two liars with the same forged root get it accepted (the trust model): the node marks its epoch CLAIM_REJECTED', async () => {
    await devnet.stopNode()
    const index = await addInput(devnet, '{"attr":"hello"}')
    const { publicClient } = clients(devnet)
    await publicClient.request({ method: 'anvil_mine' as never, params: ['0x1'] as never })
    const inputBlock = Number((await publicClient.getBlockNumber()) - 1n)
    const forged = keccak256(toHex('a root two validators agreed on'))
    await vote(second, inputBlock, forged)
    await vote(third, inputBlock, forged)
    expect(await inFavour(inputBlock, forged)).toBe(2n)
    await devnet.startNode()
    const input = await waitForInput(devnet, index)
    const rejected = await epochWith(Number(input.epochIndex), 'CLAIM_REJECTED')
    expect(rejected.claimHash).not.toBe(forged)
  })
})
