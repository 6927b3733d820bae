import { fileURLToPath } from 'node:url'
import { serve, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../dapp/config.ts'
import { exec, CommandFailedError } from '../../dapp/lib/exec.ts'

const main = fileURLToPath(new URL('../../dapp/main.ts', import.meta.url))

describe('back-end configuration', () => {
  it('stops at once, naming ROLLUP_HTTP_SERVER_URL, when it is missing', async () => {
    const env = { ...process.env }
    delete env.ROLLUP_HTTP_SERVER_URL
    const error = await exec(process.execPath, ['--import', 'tsx', main], { env, timeoutMs: 30_000 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CommandFailedError)
    expect((error as CommandFailedError).exitCode).toBe(1)
    expect((error as CommandFailedError).stderr).toContain('ROLLUP_HTTP_SERVER_URL is required')
  })

  it('reads limits with defaults and refuses nonsense', () => {
    expect(loadConfig({ ROLLUP_HTTP_SERVER_URL: 'http://127.0.0.1:5004/' })).toEqual({
      rollupUrl: 'http://127.0.0.1:5004',
      // The real node's default deadline, 180 s, less a tenth: a quarter of that to evaluate, the rest to build.
      advanceDeadlineMs: 180_000,
      evalTimeoutMs: 40_500,
      evalMemoryBytes: 4096 * 1024 * 1024,
      buildTimeoutMs: 121_500,
      buildMaxFileBytes: 4096 * 1024 * 1024,
      buildMaxProcesses: 1024,
      buildMinFreeDiskBytes: 1024 * 1024 * 1024,
      logTailBytes: 4096,
      uploadMaxBytes: 64 * 1024 * 1024,
      uploadMaxPending: 16,
      uploadExpiryBlocks: 7200,
      system: undefined,
      etherPortal: undefined,
    })
    expect(() => loadConfig({ ROLLUP_HTTP_SERVER_URL: 'http://x:1', CARTENIX_UPLOAD_MAX_PENDING: '0' })).toThrow('CARTENIX_UPLOAD_MAX_PENDING')
    expect(loadConfig({ ROLLUP_HTTP_SERVER_URL: 'http://x:1', CARTENIX_BUILD_TIMEOUT_MS: '5000' })).toMatchObject({ buildTimeoutMs: 5000, evalTimeoutMs: 60_000 })
    expect(() => loadConfig({ ROLLUP_HTTP_SERVER_URL: 'http://x:1', CARTENIX_BUILD_TIMEOUT_MS: '-1' })).toThrow('CARTENIX_BUILD_TIMEOUT_MS')
    expect(() => loadConfig({ ROLLUP_HTTP_SERVER_URL: 'not a url' })).toThrow('ROLLUP_HTTP_SERVER_URL')
  })

  it("makes its timeouts from the node's deadline, and refuses timeouts that do not end before it", () => {
    const url = { ROLLUP_HTTP_SERVER_URL: 'http://x:1' }
    // The host devnet's deadline, 30 min: 3 min kept back, 1 min to evaluate, 26 min to build.
    expect(loadConfig({ ...url, CARTENIX_ADVANCE_DEADLINE_MS: '1800000' })).toMatchObject({ advanceDeadlineMs: 1_800_000, evalTimeoutMs: 60_000, buildTimeoutMs: 1_560_000 })
    // A short deadline keeps back at least 10 s.
    expect(loadConfig({ ...url, CARTENIX_ADVANCE_DEADLINE_MS: '40000', CARTENIX_EVAL_TIMEOUT_MS: '10000' })).toMatchObject({ evalTimeoutMs: 10_000, buildTimeoutMs: 20_000 })
    expect(loadConfig({ ...url, CARTENIX_ADVANCE_DEADLINE_MS: '40000', CARTENIX_EVAL_TIMEOUT_MS: '10000', CARTENIX_BUILD_TIMEOUT_MS: '20000' }).buildTimeoutMs).toBe(20_000)
    expect(() => loadConfig({ ...url, CARTENIX_ADVANCE_DEADLINE_MS: '40000', CARTENIX_EVAL_TIMEOUT_MS: '10000', CARTENIX_BUILD_TIMEOUT_MS: '20001' })).toThrow(
      "evaluation (10000 ms) and build (20001 ms) must end 10000 ms before the node's deadline, CARTENIX_ADVANCE_DEADLINE_MS=40000: together at most 30000 ms",
    )
    // The old default build timeout, 30 min, under the real node's default deadline.
    expect(() => loadConfig({ ...url, CARTENIX_BUILD_TIMEOUT_MS: '1800000' })).toThrow('CARTENIX_ADVANCE_DEADLINE_MS=180000')
    expect(() => loadConfig({ ...url, CARTENIX_ADVANCE_DEADLINE_MS: '10000' })).toThrow('together at most 0 ms')
  })

  it('refuses to start with a build timeout that leaves no margin under the deadline it is told', async () => {
    const env = { ...process.env, ROLLUP_HTTP_SERVER_URL: 'http://127.0.0.1:9', CARTENIX_ADVANCE_DEADLINE_MS: '180000', CARTENIX_BUILD_TIMEOUT_MS: '180000' }
    const error = await exec(process.execPath, ['--import', 'tsx', main], { env, timeoutMs: 30_000 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CommandFailedError)
    expect((error as CommandFailedError).exitCode).toBe(1)
    expect((error as CommandFailedError).stderr).toContain("must end 18000 ms before the node's deadline")
  })

  it('stops when the rollup API refuses it for good (403), instead of retrying forever', async () => {
    let calls = 0
    const app = new Hono().post('/finish', (c) => {
      calls++
      return c.json({ error: 'session 0123abcd… is not open on this dev node' }, 403)
    })
    const server = await new Promise<ServerType>((resolve) => {
      const s: ServerType = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
    })
    try {
      const { port } = server.address() as { port: number }
      const env = { ...process.env, ROLLUP_HTTP_SERVER_URL: `http://127.0.0.1:${port}`, CARTENIX_SYSTEM: 'x86_64-linux' }
      const error = await exec(process.execPath, ['--import', 'tsx', main], { env, timeoutMs: 60_000 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(CommandFailedError)
      expect((error as CommandFailedError).exitCode).toBe(1)
      expect((error as CommandFailedError).stderr).toContain('status 403')
      expect(calls).toBe(1)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
