/**
 * `cartenix validator` as the process an operator runs, on a devnet on the 2.2.0 Quorum of three
 * (anvil's accounts 0, 2 and 3; the dev node only reads). The command-line validator votes as
 * account 0; the other two run in this process. Against real anvil, real Nix, real back ends:
 *
 * - a second validator on its state directory is refused; killed with SIGKILL in the middle of
 *   a build and started again, it stops the build its last run left behind and votes once for
 *   that epoch;
 * - offline, the other two get each epoch accepted; back, it catches up, once per epoch;
 * - when the other two vote the same forged root, the Quorum accepts it (the trust model), and
 *   the honest validator says so (a `differs` event naming both roots, exit status 1), as replay
 *   does (both liars named).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { createWalletClient, http, keccak256, toHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import { quorumAbi } from '../../contracts-client/abi/rollups.ts'
import { CommandFailedError, exec } from '../../dapp/lib/exec.ts'
import { repoRoot } from '../../dapp/lib/paths.ts'
import { listProcesses, processInfo, type ProcessInfo } from '../../image/host/processes.ts'
import { devAccountKey, devValidatorKeys } from '../../scripts/devnode/anvil.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { StateDirTakenError } from '../../scripts/devnode/ownership.ts'
import { replay } from '../../scripts/replay/replay.ts'
import { startValidator, type Validator, type ValidatorEvent } from '../../scripts/validator/validator.ts'
import { addInput, clients, rpc, startTestDevnet, waitFor, waitForInput } from '../harness/devnet.ts'

const [secondKey, thirdKey] = devValidatorKeys as readonly Hex[] as [Hex, Hex]
const operator = privateKeyToAccount(devAccountKey as Hex)
let devnet: Devnet
let scratch: string
const others: Validator[] = []
/** Every log line, printed when a test fails. */
const lines: string[] = []

type CliValidator = { child: ChildProcess; events: ValidatorEvent[]; exited: Promise<number | null> }
let cli: CliValidator | undefined

/** `cartenix validator --json` as account 0, on the same state directory each time. */
function startCli(): CliValidator {
  const { deployment } = devnet
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin/cartenix.js'), 'validator', '--json', '--private-key', devAccountKey, '--state-dir', join(scratch, 'cli-validator'), '--system', 'x86_64-linux',
      '--rpc-url', devnet.chainUrl, '--application', deployment.application, '--ether-portal', deployment.etherPortal],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const events: ValidatorEvent[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(`[cli] ${line}`)
    events.push(JSON.parse(line) as ValidatorEvent)
  })
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(`[cli stderr] ${line}`))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, events, exited }
}

const startOther = (key: Hex, name: string) =>
  startValidator({
    chainUrl: devnet.chainUrl,
    application: devnet.deployment.application,
    privateKey: key,
    stateDir: join(scratch, name),
    system: 'x86_64-linux',
    etherPortal: devnet.deployment.etherPortal,
    log: (line) => lines.push(`[${name}] ${line}`),
  })

const eventOf = <E extends ValidatorEvent['event']>(validator: CliValidator, event: E, epoch: number) =>
  waitFor(`the validator's ${event} event for epoch ${epoch}`, async () => validator.events.find((e): e is Extract<ValidatorEvent, { event: E }> => e.event === event && 'epoch' in e && e.epoch === epoch), 600_000)

/** The operator's votes for the epoch ending at `lastBlock`, as the chain records them. */
const operatorVotes = async (lastBlock: number) => {
  const submitted = await clients(devnet).publicClient.getContractEvents({ address: devnet.deployment.consensus, abi: quorumAbi, eventName: 'ClaimSubmitted', fromBlock: 0n })
  return submitted.filter((e) => e.args.submitter === operator.address && e.args.lastProcessedBlockNumber === BigInt(lastBlock))
}

/** The epoch of an input, once the dev node has read it from the chain. */
const epochOfInput = (index: number) =>
  waitFor(`input ${index} on the dev node`, async () => {
    const answer = await rpc(devnet, 'cartesi_getInput', { input_index: toHex(index) }).catch(() => undefined)
    return answer && { epoch: Number(answer.data.epochIndex), lastBlock: Number(answer.data.blockNumber) }
  }, 60_000)

/** The processes below `pid`, by their parents. */
async function descendantsOf(pid: number): Promise<ProcessInfo[]> {
  const all = await listProcesses()
  const byPid = new Map(all.map((p) => [p.pid, p]))
  const below = (p: ProcessInfo): boolean => {
    for (let parent = byPid.get(p.ppid); parent; parent = byPid.get(parent.ppid)) if (parent.pid === pid) return true
    return false
  }
  return all.filter(below)
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'cartenix-validator-process-'))
  devnet = await startTestDevnet({ dir: join(scratch, 'devnet'), quorumValidators: [devAccountKey, secondKey, thirdKey].map((k) => privateKeyToAccount(k as Hex).address), vote: false })
  others.push(await startOther(secondKey, 'second'), await startOther(thirdKey, 'third'))
})
afterAll(async () => {
  cli?.child.kill('SIGTERM')
  await cli?.exited
  for (const validator of others) await validator.stop()
  await devnet?.stop()
  await rm(scratch, { recursive: true, force: true })
})

describe('cartenix validator, the process', () => {
  it('will not start without the EtherPortal, which decides how a deposit is read', async () => {
    const { deployment } = devnet
    const refused = await exec(process.execPath, [join(repoRoot, 'bin/cartenix.js'), 'validator', '--state-dir', join(scratch, 'no-portal'), '--rpc-url', devnet.chainUrl, '--application', deployment.application], {
      cwd: repoRoot,
      // No devnet's deployment.json to take it from.
      env: { ...process.env, CARTENIX_PRIVATE_KEY: devAccountKey, CARTENIX_DEVNET_DIR: join(scratch, 'no-devnet') },
    }).then(() => undefined, (error: unknown) => error as CommandFailedError)
    expect(refused?.exitCode).toBe(2)
    expect(refused?.stderr).toContain('needs its EtherPortal: pass --ether-portal ADDR')
  })

  it('killed with SIGKILL in the middle of a build and started again: the build it left is stopped, and it votes once for that epoch', async () => {
    onTestFailed(() => console.log(lines.join('\n')))
    cli = startCli()
    await waitFor('the validator to start', async () => cli?.events.find((e) => e.event === 'started'), 300_000)
    // A build that takes a while, with a sleep no other test runs, to find it among processes.
    const request = { expr: `pkgs: pkgs.mkDerivation { name = "slow-vote-${Date.now()}"; buildPhase = "sleep 14.37; echo voted once > $out"; }` }
    const index = await addInput(devnet, JSON.stringify(request))
    const first = cli
    const builder = await waitFor('the validator\'s builder', async () => (await descendantsOf(first.child.pid!)).find((p) => p.command === 'sleep 14.37'), 300_000)
    // One validator per state directory: a second on the same one is refused, naming the first.
    const second = await startValidator({ chainUrl: devnet.chainUrl, application: devnet.deployment.application, privateKey: devAccountKey as Hex, stateDir: join(scratch, 'cli-validator'), system: 'x86_64-linux' }).catch((e: unknown) => e)
    expect(second).toBeInstanceOf(StateDirTakenError)
    expect(String(second)).toContain(`in use by the validator with pid ${first.child.pid}`)
    first.child.kill('SIGKILL')
    await first.exited
    const { epoch, lastBlock } = await epochOfInput(index)
    expect(await operatorVotes(lastBlock)).toHaveLength(0)
    // The back end died with it (the kernel's death signal); its nix-store and builder did not.
    expect((await processInfo(builder.pid))?.startTime).toBe(builder.startTime)

    cli = startCli()
    await waitFor('the validator to start again', async () => cli?.events.find((e) => e.event === 'started'), 300_000)
    expect(lines.some((l) => l.includes('was held by the validator with pid') && l.includes('stopping'))).toBe(true)
    await waitFor('the builder left behind to stop', async () => ((await processInfo(builder.pid)) === undefined ? true : undefined), 15_000)
    const vote = await eventOf(cli, 'vote', epoch)
    await eventOf(cli, 'accepted', epoch)
    expect(vote.lastBlock).toBe(lastBlock)
    const votes = await operatorVotes(lastBlock)
    expect(votes).toHaveLength(1)
    expect(votes[0]?.args.outputsMerkleRoot).toBe(vote.root)
  })

  it('offline, the other two get each epoch accepted; back, it catches up and votes once in each', async () => {
    onTestFailed(() => console.log(lines.join('\n')))
    const before = cli!
    before.child.kill('SIGTERM')
    expect(await before.exited).toBe(0)
    const missed = []
    for (const n of [1, 2]) {
      const index = await addInput(devnet, JSON.stringify({ expr: `pkgs: derivation { name = "while-offline-${n}-${Date.now()}"; system = pkgs.seed.system; builder = "\${pkgs.seed}/usr/bin/bash"; args = [ "-c" "echo ${n} > $out" ]; }` }))
      await waitForInput(devnet, index)
      missed.push(await epochOfInput(index))
    }
    for (const { epoch } of missed) {
      await waitFor(`epoch ${epoch} accepted without the operator`, async () => ((await rpc(devnet, 'cartesi_getEpoch', { epoch_index: toHex(epoch) })).data.status === 'CLAIM_ACCEPTED' ? true : undefined), 600_000)
    }
    for (const { lastBlock } of missed) expect(await operatorVotes(lastBlock)).toHaveLength(0)

    cli = startCli()
    for (const { epoch, lastBlock } of missed) {
      const vote = await eventOf(cli, 'vote', epoch)
      await eventOf(cli, 'accepted', epoch)
      expect(vote.lastBlock).toBe(lastBlock)
    }
    for (const { lastBlock } of missed) expect(await operatorVotes(lastBlock)).toHaveLength(1)
    // A restarted validator tells the votes it holds from before; each is the one transaction on the chain.
    for (const vote of cli.events.filter((e) => e.event === 'vote')) {
      expect((await operatorVotes(vote.lastBlock)).map((v) => v.transactionHash)).toEqual([vote.transaction])
    }
    expect(cli.events.some((e) => e.event === 'differs')).toBe(false)
  })

  it('two of three vote the same forged root: the Quorum accepts it, and the honest validator says so (differs, exit 1), as replay does', async () => {
    onTestFailed(() => console.log(lines.join('\n')))
    // The two other keys turn liars: their own validators must not vote honestly first.
    for (const validator of others.splice(0)) await validator.stop()
    const { publicClient } = clients(devnet)
    const index = await addInput(devnet, JSON.stringify({ expr: `pkgs: derivation { name = "lied-about-${Date.now()}"; system = pkgs.seed.system; builder = "\${pkgs.seed}/usr/bin/bash"; args = [ "-c" "echo the truth > $out" ]; }` }))
    const { epoch, lastBlock } = await epochOfInput(index)
    const forged = keccak256(toHex('a root two validators agreed on'))
    for (const key of [secondKey, thirdKey]) {
      const wallet = createWalletClient({ chain: anvil, transport: http(devnet.chainUrl), account: privateKeyToAccount(key) })
      const hash = await wallet.writeContract({ address: devnet.deployment.consensus, abi: quorumAbi, functionName: 'submitClaim', args: [devnet.deployment.application, BigInt(lastBlock), forged] })
      expect((await publicClient.waitForTransactionReceipt({ hash })).status).toBe('success')
    }
    const honest = cli!
    const differs = await eventOf(honest, 'differs', epoch)
    expect(differs.accepted).toBe(forged)
    expect(differs.ours).not.toBe(forged)
    expect(differs.message).toContain(forged)
    // It still voted its own root, on the chain for anyone to see, and stops with exit status 1.
    expect((await operatorVotes(lastBlock)).map((v) => v.args.outputsMerkleRoot)).toEqual([differs.ours])
    honest.child.kill('SIGTERM')
    expect(await honest.exited).toBe(1)
    cli = undefined

    const report = await replay({ publicClient, chainUrl: devnet.chainUrl, application: devnet.deployment.application, etherPortal: devnet.deployment.etherPortal, system: 'x86_64-linux' })
    expect(report.agrees).toBe(false)
    const votes = report.epochs.filter((e) => e.lastBlock === lastBlock)
    expect(votes.map((v) => [v.submitter, v.agrees]).sort()).toEqual(
      [[operator.address, true], [privateKeyToAccount(secondKey).address, false], [privateKeyToAccount(thirdKey).address, false]].sort(),
    )
  })
})
