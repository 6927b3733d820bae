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
import { startTestDevnet } from '../harness/devnet.ts'

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
})
