/**
 * The `upload` section: sources through the rollup. Uploads a source of random bytes
 * (incompressible, so each calldata byte costs what a tarball's does) of the given size through the
 * client library, one chunk an input, and gives inputs, gas and wall time per MiB: sending
 * (transactions and receipts), and until the back end has added the source and emitted its notice.
 */
import { randomBytes } from 'node:crypto'
import { uploadSource } from '../../contracts-client/actions/uploadSource.ts'
import { deletePath } from '../../dapp/nix/store.ts'
import type { BenchChain } from './chain.ts'
import type { SectionResult } from './report.ts'
import { seconds } from './stats.ts'

const mib = 1024 * 1024

export async function benchUpload(chain: BenchChain, sizeMiB: number, log: (line: string) => void): Promise<SectionResult> {
  const data = new Uint8Array(randomBytes(Math.round(sizeMiB * mib)))
  const name = `bench-upload-${Date.now()}.bin`
  const { application, inputBox } = chain.devnet.deployment
  log(`upload: ${data.length} bytes as ${name}`)
  const started = performance.now()
  let sentAt = started
  const result = await uploadSource(chain.wallet, chain.node, {
    application,
    inputBox,
    inspectUrl: `${chain.devnet.nodeUrl}/inspect`,
    name,
    data,
    onProgress: (p) => {
      if (p.phase === 'sent' && p.sent === p.toSend) sentAt = performance.now()
    },
  })
  const totalMs = performance.now() - started
  await deletePath(result.storePath)
  const perMiB = (x: number) => x / (data.length / mib)
  const inputs = result.inputIndices.length
  const gasPerMiB = perMiB(Number(result.gasUsed))
  return {
    rows: [
      { section: 'upload', what: `upload ${sizeMiB} MiB: inputs`, figure: `${inputs} (${Math.round(perMiB(inputs))} per MiB)`, target: '', status: 'no target' },
      { section: 'upload', what: 'upload: gas per MiB', figure: `${(gasPerMiB / 1e6).toFixed(2)} M (${(Number(result.gasUsed) / inputs / 1e6).toFixed(2)} M per input)`, target: '', status: 'no target' },
      { section: 'upload', what: 'upload: wall time per MiB', figure: `${seconds(perMiB(totalMs))} (sending ${seconds(perMiB(sentAt - started))})`, target: '', status: 'no target' },
    ],
    data: { bytes: data.length, inputs, gasUsed: result.gasUsed, feeWei: result.fee, totalMs, sendMs: sentAt - started, storePath: result.storePath },
    notes: [
      `Upload: ${data.length} random bytes in ${inputs} inputs of up to ${Math.ceil(data.length / inputs)} bytes on the devnet (anvil mines each at once); the time runs from the first inspect to the SourceAdded notice.`,
    ],
  }
}
