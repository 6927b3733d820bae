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
      evalTimeoutMs: 60_000,
      evalMemoryBytes: 4096 * 1024 * 1024,
      buildTimeoutMs: 1_800_000,
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
    expect(loadConfig({ ROLLUP_HTTP_SERVER_URL: 'http://x:1', CARTENIX_BUILD_TIMEOUT_MS: '5000' }).buildTimeoutMs).toBe(5000)
    expect(() => loadConfig({ ROLLUP_HTTP_SERVER_URL: 'http://x:1', CARTENIX_BUILD_TIMEOUT_MS: '-1' })).toThrow('CARTENIX_BUILD_TIMEOUT_MS')
    expect(() => loadConfig({ ROLLUP_HTTP_SERVER_URL: 'not a url' })).toThrow('ROLLUP_HTTP_SERVER_URL')
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
