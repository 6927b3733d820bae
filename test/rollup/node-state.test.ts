/**
 * The dev node's saved state belongs to one chain: it is served only on the chain id and the
 * deployment it was recorded from, and refused with a reason that names both otherwise. A real
 * anvil and the real contracts (a devnet without a back end); the node is opened on state files
 * written beside it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devAccountKey } from '../../scripts/devnode/anvil.ts'
import type { Devnet } from '../../scripts/devnode/devnet.ts'
import { DevNode, ForeignStateError } from '../../scripts/devnode/node.ts'
import { loadState, saveState } from '../../scripts/devnode/state.ts'
import { serve } from '@hono/node-server'
import { nodeApi } from '../../scripts/devnode/rpc.ts'
import { addInput, startTestDevnet } from '../harness/devnet.ts'

let devnet: Devnet
let dir: string
beforeAll(async () => {
  devnet = await startTestDevnet({ backend: false })
  dir = await mkdtemp(join(tmpdir(), 'cartenix-node-state-'))
})
afterAll(async () => {
  await devnet?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** A state file recorded for the devnet's deployment, then changed by `alter`. */
async function stateFile(name: string, alter: (state: NonNullable<Awaited<ReturnType<typeof loadState>>>) => void = () => {}): Promise<string> {
  const statePath = join(dir, `${name}.json`)
  await DevNode.open({ statePath, chainUrl: devnet.chainUrl, ownerKey: devAccountKey, deployment: devnet.deployment })
  const state = await loadState(statePath)
  if (!state) throw new Error('no state written')
  alter(state)
  await saveState(statePath, state)
  return statePath
}

/** The node's read API on a free loopback port. */
async function listenNodeApi(node: DevNode): Promise<{ url: string; close: () => Promise<void> }> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: nodeApi(node).fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

const open = (statePath: string, chainUrl = devnet.chainUrl, deployment = devnet.deployment) =>
  DevNode.open({ statePath, chainUrl, ownerKey: devAccountKey, deployment })

describe("the dev node's state belongs to one chain", () => {
  it('opens its own state again on the chain and deployment it was recorded from', async () => {
    const node = await open(await stateFile('own'))
    expect(node.state.deployment.application).toBe(devnet.deployment.application)
  })

  it('refuses a state recorded for another deployment, naming both', async () => {
    const statePath = await stateFile('other-deployment', (s) => {
      s.deployment.application = '0x00000000000000000000000000000000000000a1'
    })
    const refused = open(statePath)
    await expect(refused).rejects.toThrow(ForeignStateError)
    await expect(refused).rejects.toThrow(`recorded for application 0x00000000000000000000000000000000000000a1, and this devnet's is ${devnet.deployment.application}`)
  })

  it('refuses a state recorded on another chain id, and one whose Application has no code on this chain', async () => {
    const otherChain = await stateFile('other-chain', (s) => {
      s.deployment.chainId = 1
    })
    await expect(DevNode.open({ statePath: otherChain, chainUrl: devnet.chainUrl, ownerKey: devAccountKey })).rejects.toThrow(
      `recorded on chain 1, and ${devnet.chainUrl} is chain 31337`,
    )
    const noCode = await stateFile('no-code', (s) => {
      s.deployment.application = '0x00000000000000000000000000000000000000b2'
    })
    await expect(DevNode.open({ statePath: noCode, chainUrl: devnet.chainUrl, ownerKey: devAccountKey })).rejects.toThrow(
      'its Application 0x00000000000000000000000000000000000000b2 has no code',
    )
  })

  it('does not judge a state while its chain does not answer (the node waits for the chain)', async () => {
    const statePath = await stateFile('chain-down')
    const node = await open(statePath, 'http://127.0.0.1:9')
    expect(node.state.deployment.chainId).toBe(31337)
  })

  it('stops serving, naming both, when the chain no longer holds the inputs it recorded (a reorganisation, a reset)', async () => {
    const chain = devnet.publicClient()
    const statePath = join(dir, 'reorg.json')
    const node = await DevNode.open({ statePath, chainUrl: devnet.chainUrl, ownerKey: devAccountKey, deployment: devnet.deployment, observer: true })
    const snapshot = await chain.request({ method: 'evm_snapshot' as never })
    const index = await addInput(devnet, 'recorded, then reorganised away')
    await node.tick()
    expect(node.state.inputs.map((i) => i.index)).toContain(index)
    const recorded = node.state.inputs.length

    // The chain forgets that input: fewer inputs than the node recorded.
    await chain.request({ method: 'evm_revert' as never, params: [snapshot] as never })
    await expect(node.tick()).rejects.toThrow(`it recorded ${recorded} inputs, and the InputBox on ${devnet.chainUrl} holds ${recorded - 1} for the application`)
    await expect(node.finish(null, 'accept')).resolves.toBeNull()
    await node.stop()

    // Another input takes its index: a node opened on that state refuses it, input by input.
    expect(await addInput(devnet, 'another input at the same index')).toBe(index)
    const reopened = await DevNode.open({ statePath, chainUrl: devnet.chainUrl, ownerKey: devAccountKey, deployment: devnet.deployment, observer: true })
    await expect(reopened.tick()).rejects.toThrow(ForeignStateError)
    expect(reopened.refusal?.message).toMatch(new RegExp(`input ${index} \\(block \\d+\\) hashes to 0x[0-9a-f]{64} in it, and to 0x[0-9a-f]{64} on ${devnet.chainUrl}: the chain was reorganised or reset`))
    // Nothing is served to clients either.
    const server = await listenNodeApi(reopened)
    try {
      const call = { jsonrpc: '2.0', id: 1, method: 'cartesi_listInputs', params: { application: 'cartenix' } }
      const answer = (await (await fetch(`${server.url}/rpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(call) })).json()) as { error?: { message: string } }
      expect(answer.error?.message).toContain('the chain was reorganised or reset')
    } finally {
      await server.close()
      await reopened.stop()
    }
  })
})
