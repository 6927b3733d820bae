import { parseArgs } from 'node:util'
import { lockedFixedPaths } from '../../../contracts-client/cache/fixed.ts'
import { NoticeIndex } from '../../../contracts-client/cache/notices.ts'
import { startCacheGateway } from '../../../contracts-client/cache/server.ts'
import { loadSigner } from '../../../contracts-client/cache/signing.ts'
import { parseUpstream } from '../../../contracts-client/cache/upstream.ts'
import { connect, connectionOptions, connectionUsage } from '../connection.ts'
import { toJson } from '../render.ts'
import { UsageError } from '../usage.ts'

export const cacheUsage = `cartenix cache --key FILE --upstream SOURCE [--port N] [--host H] [--json]

A Nix binary cache that serves only what the chain has validated. A store path is served when
a Cartenix build notice that Application.validateOutput accepts (against a claim the consensus
accepted) vouches for it, with that notice's NAR hash, size and references; or when it is a
fixed-output path whose content has its fixed hash: one of this checkout's locks (a source, the
seed), or a source uploaded through the rollup whose SourceAdded notice validateOutput accepts
and whose store path follows from the notice's name, mode and sha256. NAR bytes come from the untrusted upstream and are hashed in full, and compared with the
validated hash, before the first byte is sent; a mismatch is refused (502, and a line on stderr).
Every narinfo is signed with your key, so Nix keeps require-sigs on. Runs until Ctrl-C.

  --key FILE          secret key from \`nix-store --generate-binary-cache-key NAME FILE PUBFILE\`
  --upstream SOURCE   where NAR bytes come from (untrusted): \`store\` (this machine's Nix store),
                      \`store:URI\` (another store, e.g. store:local?root=/x), or a binary cache
                      (http://…, https://…, file:///…; compression none, xz, bzip2, zstd, gzip, br)
  --port N            default 0 (a free port; the URL is printed)
  --host H            default 127.0.0.1
  --json              the start-up status as one JSON line (then GET /cartenix/status for more)

Then, in nix.conf (or with --option):
  substituters = http://127.0.0.1:PORT
  trusted-public-keys = NAME:…   (printed at start-up)

${connectionUsage}`

export async function cacheCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...connectionOptions, key: { type: 'string' }, upstream: { type: 'string' }, port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
  })
  if (!values.key) throw new UsageError('--key is required: a secret key made by nix-store --generate-binary-cache-key')
  if (!values.upstream) throw new UsageError('--upstream is required: store, store:URI, or a binary cache URL')
  const upstream = parseUpstream(values.upstream)
  if (!upstream) throw new UsageError(`--upstream must be store, store:URI, or an http(s):// or file:// URL, got "${values.upstream}"`)
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be an integer from 0 to 65535')
  const signer = await loadSigner(values.key)
  const connection = await connect(values)
  const log = (line: string) => console.error(`cache: ${line}`)
  const notices = new NoticeIndex({ node: connection.node, chain: connection.publicClient, application: connection.application, log })
  await notices.refresh()
  const fixed = await lockedFixedPaths()
  const gateway = await startCacheGateway({ notices, fixed, upstream, signer, log, host: values.host, port })
  const status = { url: gateway.url, application: connection.application, ...gateway.status() }
  if (values.json) {
    console.log(JSON.stringify(JSON.parse(toJson(status))))
  } else {
    const n = status.notices
    console.log(`cartenix cache: serving ${gateway.url}`)
    console.log(`  public key    ${status.publicKey}`)
    console.log(`  upstream      ${status.upstream} (untrusted: every NAR is hashed before it is served)`)
    console.log(`  application   ${status.application}`)
    console.log(`  validated     ${n.validated} notices, ${n.paths} paths, ${n.sources} uploaded sources (${n.pending} notices not claimed yet); ${status.fixedPaths} locked fixed-output paths`)
    console.log(`nix.conf:\n  substituters = ${gateway.url}\n  trusted-public-keys = ${status.publicKey}`)
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await gateway.close()
  return 0
}
