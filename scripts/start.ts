/**
 * `npm start`: the whole round trip on one machine. Brings up a devnet (anvil, the rollups
 * contracts, the dev node, the back end), asks for GNU hello through InputBox, waits for the
 * notice and the claim, validates the notice on-chain, prints what was proven, and stops
 * everything it started. `npm start -- --json` prints one JSON object instead.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createWalletClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil } from 'viem/chains'
import { createNodeClient, listClaims, requestBuild, validateNotice, votesByEpoch, waitForProof, waitForResult } from '../contracts-client/index.ts'
import { inputStatusLine, progress, toJson } from './cli/render.ts'
import { hexToNarHash } from '../dapp/protocol/narHash.ts'
import { anvilPollingInterval, devUserKey } from './devnode/anvil.ts'
import type { Devnet } from './devnode/devnet.ts'
import { devQuorumKeys, startDevnetOn } from './validator/devnet.ts'
import { describeValidatorEvent } from './validator/validator.ts'

const usage = `usage: npm start [-- --attr NAME] [--machine host|riscv64] [--consensus authority|quorum] [--validators N] [--json]
  --attr NAME        the package set's attribute to build (default hello)
  --machine host     the back end as a process here (default); riscv64: in the VM (run \`npm run image\` first)
  --consensus quorum a Quorum of N validators (--validators, 1 to 3, default 3), each re-executing
                     with a Nix store of its own, in place of the Authority; the dev node only reads
  --json             one JSON object on stdout
A devnet in a temporary directory, removed afterwards; nothing else is kept.`

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        json: { type: 'boolean', default: false },
        attr: { type: 'string', default: 'hello' },
        machine: { type: 'string', default: 'host' },
        consensus: { type: 'string', default: 'authority' },
        validators: { type: 'string', default: '3' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (error) {
    console.error(`npm start: ${(error as Error).message}\n${usage}`)
    process.exit(2)
  }
})()
if (values.help) {
  console.log(usage)
  process.exit(0)
}
if (values.machine !== 'host' && values.machine !== 'riscv64') {
  console.error('npm start: --machine is host (the back end as a process here, the default) or riscv64 (the VM; run `npm run image` first)')
  process.exit(2)
}
const machine = values.machine
if (values.consensus !== 'authority' && values.consensus !== 'quorum') {
  console.error('npm start: --consensus is authority (the default) or quorum')
  process.exit(2)
}
const consensus = values.consensus
const validatorCount = Number(values.validators)
if (!Number.isInteger(validatorCount) || validatorCount < 1 || validatorCount > devQuorumKeys.length) {
  console.error(`npm start: --validators is 1 to ${devQuorumKeys.length} (anvil's accounts 0, 2 and 3)`)
  process.exit(2)
}
const say = (line: string) => {
  if (!values.json) console.error(line)
}

const dir = await mkdtemp(join(tmpdir(), 'cartenix-start-'))
let devnet: Devnet | undefined
const cleanUp = async () => {
  await devnet?.stop()
  await rm(dir, { recursive: true, force: true })
}
process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)))

try {
  say(`starting anvil, deploying the Cartesi Rollups v2.2.0 contracts, starting the dev node and the back end${consensus === 'quorum' ? ` and ${validatorCount} validator(s)` : ''}…`)
  devnet = await startDevnetOn({
    dir,
    chainPort: 0,
    rollupPort: 0,
    nodePort: 0,
    machine,
    consensus,
    validators: validatorCount,
    onValidatorEvent: (i, event) => event.event === 'vote' && say(`validator ${i}: ${describeValidatorEvent(event)}`),
    log: machine === 'riscv64' ? (line) => say(line) : () => {},
  })
  const application = devnet.deployment.application
  const walletClient = createWalletClient({ chain: anvil, transport: http(devnet.chainUrl), account: privateKeyToAccount(devUserKey), pollingInterval: anvilPollingInterval })
  const node = createNodeClient({ url: `${devnet.nodeUrl}/rpc` })

  const sent = await requestBuild(walletClient, { application, inputBox: devnet.deployment.inputBox, request: { attr: values.attr } })
  say(`requested ${values.attr}: input ${sent.inputIndex} (transaction ${sent.transactionHash})`)
  const indicator = values.json ? { update: () => {}, done: () => {} } : progress(`input ${sent.inputIndex}`)
  // Under emulation a build takes minutes, not seconds.
  const timeoutMs = machine === 'riscv64' ? 60 * 60_000 : undefined
  const { notice } = await waitForResult(node, { application, inputIndex: sent.inputIndex, onStatus: (status) => indicator.update(inputStatusLine(status)), ...(timeoutMs ? { timeoutMs } : {}) })
  indicator.update('waiting for the claim')
  const proven = await waitForProof(node, { application, outputIndex: notice.index }).finally(() => indicator.done())
  const validation = await validateNotice(devnet.publicClient(), { application, output: proven })
  const { consensus: consensusAddress, consensusType, validators } = devnet.deployment
  const votes = consensusType === 'QUORUM' ? await votesFor(devnet, proven.epochIndex) : undefined

  const result = notice.result
  const summary = {
    inputIndex: sent.inputIndex,
    outputIndex: notice.index,
    drvPath: result.drvPath,
    system: result.system,
    success: result.success,
    outputs: result.outputs.map((o) => ({ name: o.name, path: o.path, narHash: o.narHash, nixNarHash: hexToNarHash(o.narHash), narSize: o.narSize })),
    validatedOnChain: validation.valid,
    ...(validation.valid ? {} : { reason: validation.reason }),
    application,
    consensus: { type: consensusType, address: consensusAddress, validators, ...(votes === undefined ? {} : { votesForTheRoot: votes }) },
    templateHash: devnet.deployment.templateHash,
    chainUrl: devnet.chainUrl,
  }
  if (values.json) {
    console.log(toJson(summary))
  } else {
    console.log(`template      ${summary.templateHash}   (the Application's; \`cartenix template\` rebuilds it)`)
    console.log(`input index   ${summary.inputIndex}`)
    console.log(`drvPath       ${summary.drvPath}`)
    for (const output of summary.outputs) {
      console.log(`output path   ${output.path}   (${output.name})`)
      console.log(`NAR hash      ${output.narHash}`)
      console.log(`              ${output.nixNarHash}`)
      console.log(`NAR size      ${output.narSize} bytes`)
    }
    console.log(
      votes === undefined
        ? `consensus     Authority ${consensusAddress}`
        : `consensus     Quorum ${consensusAddress}: ${votes} of its ${validators.length} validators voted the accepted root`,
    )
    console.log(
      validation.valid
        ? `on-chain      validated: Application.validateOutput accepted output ${notice.index} against the claim of epoch ${proven.epochIndex}`
        : `on-chain      NOT validated: ${validation.reason}`,
    )
  }
  process.exitCode = validation.valid && result.success ? 0 : 1
} catch (error) {
  console.error(`npm start: ${(error as Error).message}`)
  process.exitCode = 1
} finally {
  await cleanUp()
}

/** How many of the Quorum's validators voted the root it accepted for the epoch (read from the chain). */
async function votesFor(devnet: Devnet, epochIndex: bigint): Promise<number> {
  const claims = await listClaims(devnet.publicClient(), { application: devnet.deployment.application })
  const epoch = votesByEpoch(claims).find((e) => e.epochIndex === epochIndex)
  return epoch?.votes.filter((vote) => vote.agreesWithAccepted).length ?? 0
}
