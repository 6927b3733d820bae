import { readFile, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { execFile } from 'node:child_process'
import { parseArgs, promisify } from 'node:util'
import { formatEther } from 'viem'
import { uploadSource, type UploadProgress } from '../../../contracts-client/actions/uploadSource.ts'
import { connect, connectionOptions, connectionUsage } from '../connection.ts'
import { progress, toJson } from '../render.ts'
import { UsageError } from '../usage.ts'

export const uploadUsage = `cartenix upload <file|dir> [--name NAME] [--recursive] [--json]

Brings a fixed-output source to the machine through the rollup: the file (or, with --recursive,
the NAR of the file or directory, made by the local nix-store --dump) goes in chunks of up to
64 KB, one input each. Chunks the machine already holds from this sender are not sent again,
so running the same command after an interruption resumes. Prints the gas paid and the store
path, the same as nixpkgs' fetchurl (flat) or a recursive FOD of that name and sha256 gives.
--name is the store path name (default: the file's name).

${connectionUsage}`

export async function uploadCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...connectionOptions, name: { type: 'string' }, recursive: { type: 'boolean', default: false } },
  })
  const [file] = positionals
  if (!file || positionals.length > 1) throw new UsageError('give one file (or directory, with --recursive)')
  const info = await stat(file).catch(() => undefined)
  if (!info) throw new UsageError(`${file} does not exist`)
  if (info.isDirectory() && !values.recursive) throw new UsageError(`${file} is a directory: pass --recursive`)
  const name = values.name ?? basename(file)
  const data = values.recursive ? await dump(file) : new Uint8Array(await readFile(file))
  const connection = await connect(values)
  const indicator = progress(`upload ${name}`)
  try {
    const result = await uploadSource(connection.walletClient, connection.node, {
      application: connection.application,
      inputBox: connection.inputBox(),
      inspectUrl: `${connection.nodeUrl}/inspect`,
      name,
      mode: values.recursive ? 'recursive' : 'flat',
      data,
      onProgress: (p) => indicator.update(describe(p)),
    })
    indicator.done()
    if (values.json) {
      console.log(toJson(result))
    } else if (result.alreadyPresent) {
      console.log(`${result.storePath}   already in the machine's store; nothing sent`)
    } else {
      console.log(
        [
          `store path    ${result.storePath}`,
          `sha256        ${result.sha256}   (${data.length} bytes, ${values.recursive ? 'recursive' : 'flat'})`,
          `inputs        ${result.inputIndices.length} sent (${result.inputIndices.join(', ')})${result.skipped ? `, ${result.skipped} chunks held already` : ''}`,
          `gas           ${result.gasUsed}   (${formatEther(result.fee)} ETH at the prices paid)`,
          `notice        output ${result.notice?.index ?? '?'} (SourceAdded)`,
        ].join('\n'),
      )
    }
    return 0
  } finally {
    indicator.done()
  }
}

function describe(p: UploadProgress): string {
  switch (p.phase) {
    case 'planned':
      return `${p.count} chunks of ${p.size} bytes, ${p.held} held already`
    case 'sent':
      return `sent chunk ${p.index} as input ${p.inputIndex} (${p.sent}/${p.toSend}, ${p.gasUsed} gas)`
    case 'processed':
      return `processed ${p.processed}/${p.toSend}`
    default:
      return ''
  }
}

/** The NAR serialisation of a file or directory, as Nix hashes it for a recursive FOD. */
async function dump(path: string): Promise<Uint8Array> {
  const { stdout } = await promisify(execFile)('nix-store', ['--dump', path], { encoding: 'buffer', maxBuffer: 2 ** 31 })
  return new Uint8Array(stdout)
}
