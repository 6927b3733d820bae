/**
 * Serves the built page, and a `config.json` that points it at one node and chain, as routes to
 * mount on any Hono app (the dev node mounts them beside its JSON-RPC, so the page and /rpc share
 * an origin).
 */
import { Hono } from 'hono'
import type * as z from 'zod'
import type { PageFiles } from './build.ts'
import type { fileSettings } from './src/settings.ts'

/** What `config.json` may say: the page's own schema (web/src/settings.ts). */
export type PageConfig = z.input<typeof fileSettings>

export function pageRoutes(files: PageFiles, config: PageConfig): Hono {
  const routes = new Hono()
  const send = (name: string) => {
    const file = files.get(name)
    if (!file) throw new Error(`The built page has no ${name}`)
    return new Response(file.body, { headers: { 'content-type': file.type, 'cache-control': 'no-cache' } })
  }
  routes.get('/', () => send('index.html'))
  for (const name of files.keys()) routes.get(`/${name}`, () => send(name))
  routes.get('/config.json', (c) => c.json(config))
  return routes
}
