/**
 * Honest parties agree, even on hostile builds: a devnet on a Quorum of three validators, each
 * re-executing with a Nix store of its own, is sent builds that read what differs between runs
 * (the kernel's randomness, the clock) and what is the same on one machine (its CPUs and memory
 * size). Every epoch gets the same root from all three validators and from the dev node,
 * which only reads: what reads randomness or the clock is refused as not reproducible by each of
 * them alike, /dev/urandom gives zeros, and replay agrees with every claim.
 *
 * Builds that read randomness only sometimes are left out on purpose: one party may attest and
 * another refuse, a gap docs/determinism.md states and test/nix/reproducible.test.ts shows. Free
 * memory is one of them: this test had a build print MemFree, and the node and the validators
 * refused it while replay, whose two builds read the same value, attested it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { toHex } from 'viem'
import { createNodeClient, waitForResult } from '../../contracts-client/index.ts'
import { listClaims, votesByEpoch } from '../../contracts-client/actions/listClaims.ts'
import { replay } from '../../scripts/replay/replay.ts'
import type { DevnetWithValidators } from '../../scripts/validator/devnet.ts'
import type { ValidatorEvent } from '../../scripts/validator/validator.ts'
import { addInput, clients, reportsOf, rpc, startTestDevnet, waitFor } from '../harness/devnet.ts'

const nonce = Date.now()
/** A derivation whose builder is the seed's bash running `script`; `$S` is the seed's /usr/bin. */
const probe = (name: string, script: string) =>
  JSON.stringify({ expr: `pkgs: derivation { name = "${name}-${nonce}"; system = pkgs.seed.system; builder = "\${pkgs.seed}/usr/bin/bash"; args = [ "-c" ${JSON.stringify(`S=\${pkgs.seed}/usr/bin; ${script}`)} ]; }` })

/** Each build, and whether every honest party attests it (true) or refuses it as not reproducible (false). */
const builds = [
  { name: 'urandom', script: '$S/od -An -tx1 -N 16 /dev/urandom > $out', attested: true },
  { name: 'getrandom', script: 'echo $SRANDOM > $out', attested: false },
  { name: 'clock', script: '$S/date +%s%N > $out', attested: false },
  { name: 'this-machine', script: '$S/nproc > $out; $S/grep MemTotal /proc/meminfo >> $out; $S/grep -m1 "model name" /proc/cpuinfo >> $out', attested: true },
] as const

let scratch: string
let devnet: DevnetWithValidators
const events: ValidatorEvent[][] = [[], [], []]
const lines: string[] = []

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'cartenix-agreement-'))
  devnet = await startTestDevnet({
    dir: join(scratch, 'devnet'),
    consensus: 'quorum',
    validators: 3,
    onValidatorEvent: (i, event) => events[i - 1]?.push(event),
    log: (line) => lines.push(line),
  })
})
afterAll(async () => {
  await devnet?.stop()
  await rm(scratch, { recursive: true, force: true })
})

describe('three honest validators on hostile builds', () => {
  it('vote the same root in every epoch, as the node computed it; replay agrees with every claim', async () => {
    onTestFailed(() => console.log(lines.join('\n')))
    const node = createNodeClient({ url: `${devnet.nodeUrl}/rpc` })
    const sent: { index: number; build: (typeof builds)[number] }[] = []
    for (const build of builds) sent.push({ index: await addInput(devnet, probe(build.name, build.script)), build })

    for (const { index, build } of sent) {
      const { notice } = await waitForResult(node, { application: devnet.deployment.application, inputIndex: BigInt(index), timeoutMs: 600_000 })
      expect(notice.result.success, build.name).toBe(build.attested)
      if (!build.attested) {
        const reports = await reportsOf(devnet, index)
        expect(reports.map((r) => r?.type), build.name).toContain('not-reproducible')
      }
    }
    const epochIndices = await Promise.all(sent.map(async ({ index }) => Number((await rpc(devnet, 'cartesi_getInput', { input_index: toHex(index) })).data.epochIndex)))
    for (const epoch of epochIndices) {
      await waitFor(`epoch ${epoch} accepted`, async () => ((await rpc(devnet, 'cartesi_getEpoch', { epoch_index: toHex(epoch) })).data.status === 'CLAIM_ACCEPTED' ? true : undefined), 600_000)
    }
    // The third vote may come after the two that got the root accepted.
    const votes = await waitFor('three votes in every epoch', async () => {
      const byEpoch = votesByEpoch(await listClaims(clients(devnet).publicClient, { application: devnet.deployment.application }))
      const ours = byEpoch.filter((e) => epochIndices.includes(Number(e.epochIndex)))
      return ours.length === epochIndices.length && ours.every((e) => e.votes.length === 3) ? ours : undefined
    }, 600_000)
    for (const epoch of votes) {
      const { data } = await rpc(devnet, 'cartesi_getEpoch', { epoch_index: toHex(epoch.epochIndex) })
      expect(epoch.acceptedRoot, `epoch ${epoch.epochIndex}`).toBe(data.claimHash)
      expect(epoch.votes.map((v) => v.agreesWithAccepted), `epoch ${epoch.epochIndex}`).toEqual([true, true, true])
    }
    expect(events.flat().filter((e) => e.event === 'differs')).toEqual([])

    const report = await replay({ publicClient: clients(devnet).publicClient, chainUrl: devnet.chainUrl, application: devnet.deployment.application, etherPortal: devnet.deployment.etherPortal, system: 'x86_64-linux' })
    expect(report.epochs.filter((e) => !e.agrees)).toEqual([])
    expect(report.agrees).toBe(true)
  })
})
