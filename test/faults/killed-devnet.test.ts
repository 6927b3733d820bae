/**
 * A devnet killed with SIGKILL in the middle of a build (what the OOM killer does), then started
 * again on the same directory: its anvil and back end die with it, what they left running (the
 * nix-store build) is stopped by the next devnet, the input is built once and ends with one
 * notice that validates on-chain, and nothing of the dead devnet can talk to the new one. Also:
 * one devnet per directory, a dead holder's reused pid is not mistaken for it, and the rollup
 * API's sessions.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, describe, expect, it } from 'vitest'
import { createPublicClient, createWalletClient, http, type Address } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { anvil as anvilChain } from 'viem/chains'
import { createNodeClient, listOutputs, requestBuild, validateNotice, waitForProof, waitForResult } from '../../contracts-client/index.ts'
import { repoRoot } from '../../dapp/lib/paths.ts'
import { deleteFromStore, outputsOf } from '../../scripts/bench/store.ts'
import { anvilPollingInterval, devUserKey } from '../../scripts/devnode/anvil.ts'
import { freePort, startDevnet, type Devnet } from '../../scripts/devnode/devnet.ts'
import { StateDirTakenError, takeStateDir, ownerFileName, ownerRecord, type OwnerRecord } from '../../scripts/devnode/ownership.ts'
import { isAlive, listProcesses, processInfo, spawnTied, survivorsOf, type ProcessInfo } from '../../image/host/processes.ts'
import { CommandFailedError, exec } from '../../dapp/lib/exec.ts'
import { advanceRequest } from '../../dapp/protocol/rollupHttp.ts'
import { addInput, rpc, startTestDevnet, waitFor, waitForInput } from '../harness/devnet.ts'

type Summary = { chainUrl: string; nodeUrl: string; rollupUrl: string; deployment: { application: Address; inputBox: Address } }
type DevnetProcess = { child: ChildProcess; pid: number; log: string[]; ready: Promise<Summary>; exited: Promise<number | null> }
type Ports = { chain: number; rollup: number; node: number }

const running: DevnetProcess[] = []
afterAll(async () => {
  for (const devnet of running) {
    if (devnet.child.exitCode === null && devnet.child.signalCode === null) devnet.child.kill('SIGTERM')
    await devnet.exited
  }
})

/** test/faults/devnet-process.ts in a child process, tied to this one should the test runner die. */
function startDevnetProcess(dir: string, ports: Ports): DevnetProcess {
  const script = join(repoRoot, 'test/faults/devnet-process.ts')
  const child = spawnTied(process.execPath, ['--import', 'tsx', script, dir, String(ports.chain), String(ports.rollup), String(ports.node)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    deathSignal: 'TERM',
  })
  if (child.pid === undefined) throw new Error('the devnet process did not start')
  const log: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => log.push(line))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const ready = new Promise<Summary>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line) as Summary))
    void exited.then((code) => reject(new Error(`the devnet process exited (${code}) before it ran:\n${log.join('\n')}`)))
  })
  const started = { child, pid: child.pid, log, ready, exited }
  running.push(started)
  return started
}

const readLock = async (dir: string): Promise<OwnerRecord> => ownerRecord.parse(JSON.parse(await readFile(join(dir, ownerFileName), 'utf8')))

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** Processes whose command line names the directory or the chain's port, other than the ones listed. */
async function strays(dir: string, chainPort: number, except: readonly number[]): Promise<ProcessInfo[]> {
  return (await listProcesses()).filter((p) => (p.command.includes(dir) || p.command.includes(`--port ${chainPort} `)) && !except.includes(p.pid))
}

/** Processes whose environment carries the URL (a back end's session, which its children inherit). */
async function carrying(url: string): Promise<number[]> {
  const found: number[] = []
  for (const p of await listProcesses()) {
    const environ = await readFile(`/proc/${p.pid}/environ`).catch(() => Buffer.alloc(0))
    if (environ.toString('utf8').split('\0').includes(`ROLLUP_HTTP_SERVER_URL=${url}`)) found.push(p.pid)
  }
  return found
}

describe('a devnet killed with SIGKILL mid-build', () => {
  it('leaves nothing running that can finish the input again; the restarted devnet builds it once, with one notice that validates', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cartenix-killed-'))
    const ports: Ports = { chain: await freePort(), rollup: await freePort(), node: await freePort() }
    const hello = await outputsOf({ attr: 'hello' })
    await deleteFromStore(hello.outputs)

    const first = startDevnetProcess(dir, ports)
    const summary = await first.ready
    const held = await readLock(dir)
    expect(held).toMatchObject({ pid: first.pid, ports, command: expect.stringContaining('devnet-process.ts') })
    expect(held.children.map((c) => c.role).sort()).toEqual(['anvil', 'backend'])
    const anvil = held.children.find((c) => c.role === 'anvil')!
    const backend = held.children.find((c) => c.role === 'backend')!
    expect(backend.pgid).toBe(backend.pid)
    expect(backend.rollupUrl).toMatch(new RegExp(`^${summary.rollupUrl}/[0-9a-f]{32}$`))

    const wallet = createWalletClient({ chain: anvilChain, transport: http(summary.chainUrl), account: privateKeyToAccount(devUserKey), pollingInterval: anvilPollingInterval })
    const { application, inputBox } = summary.deployment
    const sent = await requestBuild(wallet, { application, inputBox, request: { attr: 'hello' } })
    expect(sent.inputIndex).toBe(0n)
    const build = await waitFor(
      'the back end to run nix-store on hello',
      async () => (await listProcesses()).find((p) => p.pgid === backend.pgid && p.command.startsWith('nix-store --realise') && p.command.includes(hello.drvPath)),
      120_000,
    )

    first.child.kill('SIGKILL')
    await first.exited
    // The kernel's death signal: anvil (SIGTERM, so it writes the chain) and the back end (SIGKILL) go with the devnet.
    await waitFor('the dead devnet\'s anvil and back end to exit', async () => ((await isAlive(anvil)) || (await isAlive(backend)) ? undefined : true), 15_000)
    const orphans = await survivorsOf([backend])
    expect(orphans.map((p) => p.pid)).toContain(build.pid)
    expect((await readLock(dir)).pid).toBe(first.pid)

    const second = startDevnetProcess(dir, ports)
    const restarted = await second.ready
    // The build's nix-store lives as long as the build, so the new devnet must have stopped it; the
    // build's short-lived children (a gcc, a sed) may have ended on their own in between, so for
    // them it is enough that none is left (below).
    const buildOrphan = orphans.find((p) => p.pid === build.pid)!
    expect(second.log).toContainEqual(expect.stringContaining(`devnet: stopped pid ${buildOrphan.pid} (${buildOrphan.command.slice(0, 40)}`))
    expect(await survivorsOf(orphans.map((p) => ({ pid: p.pid, pgid: p.pgid, startTime: p.startTime })))).toEqual([])
    expect(second.log).toContainEqual(expect.stringContaining(`was held by the devnet with pid ${first.pid}, which is gone`))
    expect(restarted.deployment).toEqual(summary.deployment)
    for (const child of held.children) expect(await isAlive(child)).toBe(false)
    expect(await survivorsOf(held.children)).toEqual([])
    expect(await carrying(backend.rollupUrl ?? '')).toEqual([])
    const holder = await readLock(dir)
    expect(holder.pid).toBe(second.pid)
    expect(await strays(dir, ports.chain, [second.pid, ...holder.children.map((c) => c.pid)])).toEqual([])

    // The dead devnet's session, and the bare URL while the devnet runs its own back end, may do nothing.
    const staleFinish = await post(`${backend.rollupUrl}/finish`, { status: 'accept' })
    expect(staleFinish.status).toBe(403)
    expect(await staleFinish.json()).toMatchObject({ error: expect.stringContaining('is not open on this dev node') })
    expect((await post(`${backend.rollupUrl}/notice`, { payload: '0x01' })).status).toBe(403)
    const bare = await post(`${restarted.rollupUrl}/finish`, { status: 'accept' })
    expect(bare.status).toBe(403)
    expect(await bare.json()).toMatchObject({ error: expect.stringContaining('runs its own back end') })

    const node = createNodeClient({ url: `${restarted.nodeUrl}/rpc` })
    const { notice, input } = await waitForResult(node, { application, inputIndex: 0n })
    expect(input.status).toBe('ACCEPTED')
    expect(notice.result).toMatchObject({ inputIndex: 0n, success: true, drvPath: hello.drvPath })
    const outputs = await listOutputs(node, { application })
    expect(outputs.totalCount).toBe(1)
    expect(outputs.outputs.map((o) => [o.index, o.inputIndex])).toEqual([[0n, 0n]])
    const proven = await waitForProof(node, { application, outputIndex: notice.index })
    const publicClient = createPublicClient({ chain: anvilChain, transport: http(restarted.chainUrl), pollingInterval: anvilPollingInterval })
    expect(await validateNotice(publicClient, { application, output: proven })).toEqual({ valid: true })

    // A second devnet on the directory is refused at once, naming the holder and how to stop it.
    const refused = await exec(process.execPath, [join(repoRoot, 'bin/cartenix.js'), 'devnet', '--dir', dir], { timeoutMs: 60_000 }).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(refused).toBeInstanceOf(CommandFailedError)
    expect((refused as CommandFailedError).exitCode).toBe(1)
    expect((refused as CommandFailedError).stderr).toContain(`in use by the devnet with pid ${second.pid}`)
    expect((refused as CommandFailedError).stderr).toContain(`kill ${second.pid}`)
    const inProcess = await startDevnet({ dir, chainPort: 0, rollupPort: 0, nodePort: 0, backend: false }).then(() => undefined, (error: unknown) => error)
    expect(inProcess).toBeInstanceOf(StateDirTakenError)
    expect(inProcess).toMatchObject({ holder: { pid: second.pid, ports } })

    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
    await expect(readFile(join(dir, ownerFileName))).rejects.toMatchObject({ code: 'ENOENT' })
    for (const child of holder.children) expect(await isAlive(child)).toBe(false)
    expect(await strays(dir, ports.chain, [])).toEqual([])
  })

  it('takes over from a dead holder whose pids now belong to other processes, without touching them; refuses a living one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cartenix-lock-'))
    const bystander = spawn('sleep', ['600'], { stdio: 'ignore' })
    try {
      const info = await processInfo(bystander.pid ?? -1)
      if (!info) throw new Error('sleep did not start')
      const record = (startTime: number): OwnerRecord => ({
        version: 1,
        pid: info.pid,
        startTime,
        command: 'an earlier devnet',
        startedAt: new Date(0).toISOString(),
        ports: { chain: 1, rollup: 2, node: 3 },
        children: [{ role: 'backend', pid: info.pid, startTime, pgid: info.pid, command: 'an earlier back end' }],
      })
      // The recorded pid was reused by the bystander: same number, later start time.
      await writeFile(join(dir, ownerFileName), JSON.stringify(record(info.startTime - 1)))
      const log: string[] = []
      const lock = await takeStateDir(dir, (line) => log.push(line))
      expect(await isAlive(info)).toBe(true)
      expect(log).toEqual([`devnet: ${dir} was held by the devnet with pid ${info.pid}, which is gone; none of its processes was still running`])
      expect((await readLock(dir)).pid).toBe(process.pid)
      await lock.release()

      // The same pid with its own start time is the holder, alive: refused, and nothing is stopped.
      await writeFile(join(dir, ownerFileName), JSON.stringify(record(info.startTime)))
      const refused = await takeStateDir(dir).then(() => undefined, (error: unknown) => error)
      expect(refused).toBeInstanceOf(StateDirTakenError)
      expect((refused as Error).message).toContain(`in use by the devnet with pid ${info.pid}`)
      expect(await isAlive(info)).toBe(true)
    } finally {
      bystander.kill('SIGKILL')
    }
  })
})

describe('sessions on the rollup API', () => {
  let devnet: Devnet | undefined
  afterAll(async () => {
    await devnet?.stop()
  })

  const nextRequest = async (base: string) => {
    for (let attempt = 0; attempt < 30; attempt++) {
      const response = await post(`${base}/finish`, { status: 'accept' })
      if (response.status === 200) return advanceRequest.parse(await response.json())
      expect(response.status, await response.text()).toBe(202)
    }
    throw new Error(`nothing was served at ${base}`)
  }

  it('lets only the session that took a request add to it or finish it, and nothing from a closed session', async () => {
    devnet = await startTestDevnet({ backend: false })
    const token = devnet.node.openSession()
    const session = `${devnet.rollupUrl}/${token}`
    const index = await addInput(devnet, 'taken by a session')
    expect((await nextRequest(session)).data.metadata.input_index).toBe(index)

    for (const [path, body] of [
      ['/finish', { status: 'accept' }],
      ['/notice', { payload: '0x01' }],
      ['/voucher', { destination: `0x${'11'.repeat(20)}`, value: '0x0', payload: '0x' }],
      ['/delegate-call-voucher', { destination: `0x${'11'.repeat(20)}`, payload: '0x' }],
      ['/report', { payload: '0x01' }],
      ['/exception', { payload: '0x01' }],
    ] as const) {
      const other = await post(`${devnet.rollupUrl}${path}`, body)
      expect(other.status, path).toBe(409)
      expect(await other.json()).toMatchObject({
        error: `Input ${index} was handed to session ${token.slice(0, 8)}…, not to the bare rollup URL: only that session may add to it or finish it`,
      })
      expect((await post(`${devnet.rollupUrl}/${'0'.repeat(32)}${path}`, body)).status, path).toBe(403)
    }
    expect((await post(`${session}/notice`, { payload: '0x02' })).status).toBe(201)
    expect((await post(`${session}/finish`, { status: 'accept' })).status).toBe(202)
    expect((await waitForInput(devnet, index)).status).toBe('ACCEPTED')
    expect((await rpc(devnet, 'cartesi_listOutputs', { input_index: `0x${index.toString(16)}` })).data).toHaveLength(1)

    // A session closed with a request in flight: the request ends as an exception, the session may do nothing more.
    const dropped = await addInput(devnet, 'dropped')
    await nextRequest(session)
    await devnet.node.closeSession(token, 'its back end is gone')
    expect((await waitForInput(devnet, dropped)).status).toBe('EXCEPTION')
    expect((await post(`${session}/finish`, { status: 'accept' })).status).toBe(403)
    const next = await addInput(devnet, 'the bare URL again')
    expect((await nextRequest(devnet.rollupUrl)).data.metadata.input_index).toBe(next)
  })
})
