/**
 * The `binary-cache` section: the verified binary cache (`cartenix cache`). hello is built through
 * the rollup and claimed; then, side by side in one run:
 * - narinfo latency: the gateway's answer for hello's narinfo, once cold (the notice read and
 *   validated on-chain) and N times warm;
 * - NAR throughput: `nix copy` of hello's closure (hello and the unpacked seed) into an empty
 *   chroot store from the gateway (upstream: this machine's store, every NAR hashed before it is
 *   served, signatures checked), against `nix copy` from a plain file:// cache (no compression)
 *   of the same paths, rounds alternating, a fresh store each time.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitForProof } from '../../contracts-client/actions/waitForProof.ts'
import { lockedFixedPaths } from '../../contracts-client/cache/fixed.ts'
import { hashPart } from '../../contracts-client/cache/narinfo.ts'
import { NoticeIndex } from '../../contracts-client/cache/notices.ts'
import { startCacheGateway } from '../../contracts-client/cache/server.ts'
import { loadSigner } from '../../contracts-client/cache/signing.ts'
import { parseUpstream } from '../../contracts-client/cache/upstream.ts'
import { runNix } from '../../dapp/nix/env.ts'
import type { BenchChain } from './chain.ts'
import { clientPollMs, hello } from './overhead.ts'
import { judged, type SectionResult } from './report.ts'
import { bytes, median, millis, percentile, seconds, timed } from './stats.ts'

export async function benchCache(chain: BenchChain, narinfos: number, rounds: number, log: (line: string) => void): Promise<SectionResult> {
  const scratch = await mkdtemp(join(tmpdir(), 'cartenix-bench-cache-'))
  const { application } = chain.devnet.deployment
  try {
    log('cache: hello through the rollup, then its claim')
    const sent = await chain.send(hello)
    const { notice } = await chain.result(sent.inputIndex, { pollIntervalMs: clientPollMs, timeoutMs: 10 * 60_000 })
    await waitForProof(chain.node, { application, outputIndex: notice.index, pollIntervalMs: clientPollMs })
    const path = notice.result.outputs[0]?.path
    if (!path) throw new Error('hello has no output')
    const closureBytes = Number(notice.result.outputs[0]?.narSize ?? 0n) + (notice.result.closure ?? []).reduce((sum, c) => sum + Number(c.narSize), 0)

    await runNix('nix-store', ['--generate-binary-cache-key', 'cartenix-bench-1', join(scratch, 'secret'), join(scratch, 'public')])
    const signer = await loadSigner(join(scratch, 'secret'))
    const notices = new NoticeIndex({ node: chain.node, chain: chain.wallet, application })
    const gateway = await startCacheGateway({ notices, fixed: await lockedFixedPaths(), upstream: parseUpstream('store')!, signer })
    try {
      const narinfo = `${gateway.url}/${hashPart(path)}.narinfo`
      const ask = async () => {
        const response = await fetch(narinfo)
        await response.text()
        if (response.status !== 200) throw new Error(`GET ${narinfo} answered ${response.status}`)
      }
      const cold = (await timed(ask)).ms
      const warm: number[] = []
      for (let i = 0; i < narinfos; i++) warm.push((await timed(ask)).ms)

      const fileCache = join(scratch, 'file-cache')
      log('cache: a file:// cache of the same paths (nix copy, no compression)')
      await runNix('nix', ['copy', '--to', `file://${fileCache}?compression=none`, path])
      const copyInto = async (from: string, checkSigs: boolean) => {
        const root = await mkdtemp(join(scratch, 'store-'))
        const sigs = checkSigs ? ['--option', 'trusted-public-keys', signer.publicKey] : ['--no-check-sigs']
        const { ms } = await timed(() => runNix('nix', ['copy', '--from', from, '--to', `local?root=${root}`, ...sigs, path], { env: { XDG_CACHE_HOME: join(scratch, 'xdg') } }))
        await rm(root, { recursive: true, force: true })
        return ms
      }
      const viaGateway: number[] = []
      const viaFile: number[] = []
      for (let round = 0; round < rounds; round++) {
        log(`cache: round ${round + 1} of ${rounds}: nix copy from the gateway, then from file://`)
        viaGateway.push(await copyInto(gateway.url, true))
        viaFile.push(await copyInto(`file://${fileCache}`, false))
      }
      const rate = (ms: number) => (closureBytes / (ms / 1000) / 1024 / 1024).toFixed(0)
      const ratio = median(viaGateway) / median(viaFile)
      return {
        rows: [
          { section: 'binary-cache', what: 'cache: narinfo, cold (notice read, validated on-chain)', figure: millis(cold), target: '', status: 'no target' },
          { section: 'binary-cache', what: `cache: narinfo, warm (median, p95 of ${narinfos})`, figure: `${millis(median(warm))}, ${millis(percentile(warm, 95))}`, target: 'under 10 ms', status: judged(median(warm) < 10) },
          {
            section: 'binary-cache',
            what: `cache: nix copy of hello's closure (${bytes(closureBytes)} NAR), median of ${rounds}`,
            figure: `gateway ${seconds(median(viaGateway))} (${rate(median(viaGateway))} MiB/s), file:// ${seconds(median(viaFile))} (${rate(median(viaFile))} MiB/s): ${ratio.toFixed(2)}x`,
            target: 'at most 2x file://',
            status: judged(ratio <= 2),
          },
        ],
        data: { coldMs: cold, warmMs: warm, viaGatewayMs: viaGateway, viaFileMs: viaFile, closureBytes, status: gateway.status() },
        notes: [
          'Cache: the gateway spools and hashes each NAR (nix store dump-path of this store) in full before serving it; file:// hands Nix the NAR files as they are. Both copies go into an empty chroot store; the gateway copy checks signatures.',
        ],
      }
    } finally {
      await gateway.close()
    }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}
