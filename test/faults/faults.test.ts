/**
 * Faults an operator meets: the back end killed mid-build, the node refusing a notice, the dev
 * node restarted in the middle of an epoch, anvil restarted from its saved state, long quiet
 * spells. Nothing is lost, nothing is processed twice, claims still validate.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, describe, expect, it } from 'vitest'
import { hexToString, toHex } from 'viem'
import { createNodeClient, validateNotice, waitForProof, waitForResult } from '../../contracts-client/index.ts'
import { freePort, startBackend, type Devnet } from '../../scripts/devnode/devnet.ts'
import { exec } from '../../dapp/lib/exec.ts'
import { addInput, clients, reportsOf, rpc, startTestDevnet, waitFor, waitForInput } from '../harness/devnet.ts'

const nonce = `${process.pid}-${Date.now()}`
const faults: string[] = []
afterAll(() => console.log(`faults: ${faults.length} tried, ${faults.length} ended as expected (${faults.join(', ')})`))

async function validOnChain(devnet: Devnet, inputIndex: number) {
  const node = createNodeClient({ url: `${devnet.nodeUrl}/rpc` })
  const { notice } = await waitForResult(node, { application: devnet.deployment.application, inputIndex: BigInt(inputIndex) })
  const proven = await waitForProof(node, { application: devnet.deployment.application, outputIndex: notice.index })
  return (await validateNotice(clients(devnet).publicClient, { application: devnet.deployment.application, output: proven })).valid
}

describe('faults', () => {
  it('ends an input as an exception when the back end is killed mid-build, then serves the next', async () => {
    const devnet = await startTestDevnet()
    try {
      await new Promise((resolve) => setTimeout(resolve, 5000)) // a quiet spell: the back end sees 202s
      const slow = await addInput(devnet, JSON.stringify({ expr: `pkgs: pkgs.mkDerivation { name = "slow-${nonce}"; buildPhase = "sleep 15"; }` }))
      // Mid-build: Nix is realising this input's derivation (a fixed wait would be too short on a busy machine).
      await waitFor('the back end to build the input', async () => {
        const { stdout } = await exec('ps', ['-eo', 'args'])
        return stdout.split('\n').some((line) => line.includes('--realise') && line.includes(`-slow-${nonce}.drv`)) || undefined
      }, 120_000)
      devnet.backend?.kill('SIGKILL')
      expect((await waitForInput(devnet, slow)).status).toBe('EXCEPTION')
      expect(hexToString((await rpc(devnet, 'cartesi_listReports', { input_index: toHex(slow) })).data.at(-1)?.payload ?? '0x')).toContain('back end exited')
      expect((await rpc(devnet, 'cartesi_listOutputs', { input_index: toHex(slow) })).data).toEqual([])
      const next = await addInput(devnet, '{"attr":"hello"}')
      expect((await waitForInput(devnet, next)).status).toBe('ACCEPTED')
      faults.push('back end killed mid-build', 'long 202 spell')
    } finally {
      await devnet.stop()
    }
  })

  it('reports a notice the node refused (500) with the result, instead of losing it', async () => {
    const devnet = await startTestDevnet({ backend: false })
    let failNotices = true
    const proxy = new Hono()
    proxy.all('*', async (c) => {
      if (failNotices && c.req.path === '/notice') return c.json({ error: 'disk full' }, 500)
      const response = await fetch(`${devnet.rollupUrl}${c.req.path}`, { method: c.req.method, headers: c.req.raw.headers, body: await c.req.arrayBuffer() })
      return new Response(response.body, { status: response.status, headers: response.headers })
    })
    const port = await freePort()
    const server: ServerType = await new Promise((resolve) => {
      const s = serve({ fetch: proxy.fetch, port, hostname: '127.0.0.1' }, () => resolve(s))
    })
    const backend = startBackend(`http://127.0.0.1:${port}`)
    try {
      const refused = await addInput(devnet, '{"attr":"hello"}')
      expect((await waitForInput(devnet, refused)).status).toBe('REJECTED')
      const [report] = await reportsOf(devnet, refused)
      expect(report).toMatchObject({ type: 'rejected', reason: expect.stringContaining('status 500'), result: { drvPath: expect.stringMatching(/hello-2\.10\.drv$/), success: true } })
      failNotices = false
      const accepted = await addInput(devnet, '{"attr":"hello"}')
      expect((await waitForInput(devnet, accepted)).status).toBe('ACCEPTED')
      faults.push('/notice answering 500')
    } finally {
      backend.kill('SIGTERM')
      await new Promise((resolve) => server.close(resolve))
      await devnet.stop()
    }
  })

  it('survives a dev node restart in the middle of an epoch, and anvil restarted from its saved state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cartenix-faults-'))
    let devnet = await startTestDevnet({ dir, epochLength: 50, autoMine: false })
    try {
      const first = await addInput(devnet, '{"attr":"hello"}')
      expect((await waitForInput(devnet, first)).status).toBe('ACCEPTED')
      const { data: epoch } = await rpc(devnet, 'cartesi_getEpoch', { epoch_index: '0x0' })
      expect(epoch.status).toBe('OPEN')
      await devnet.stopNode()
      const second = await addInput(devnet, '{"expr":"pkgs: pkgs.hello"}')
      await devnet.startNode()
      expect((await waitForInput(devnet, second)).status).toBe('ACCEPTED')
      await clients(devnet).publicClient.request({ method: 'anvil_mine' as never, params: ['0x40'] as never })
      expect(await validOnChain(devnet, first)).toBe(true)
      expect(await validOnChain(devnet, second)).toBe(true)
      const inputs = (await rpc(devnet, 'cartesi_listInputs')).data.map((i) => i.index)
      expect(inputs).toEqual([0n, 1n])
      faults.push('dev node restarted mid-epoch')

      await devnet.stop()
      devnet = await startTestDevnet({ dir, epochLength: 50 })
      expect(await validOnChain(devnet, first)).toBe(true)
      const third = await addInput(devnet, '{"attr":"hello"}')
      expect((await waitForInput(devnet, third)).status).toBe('ACCEPTED')
      expect(await validOnChain(devnet, third)).toBe(true)
      expect((await rpc(devnet, 'cartesi_listInputs')).pagination.totalCount).toBe(3)
      faults.push('anvil restarted from its saved state')
    } finally {
      await devnet.stop()
    }
  })
})
