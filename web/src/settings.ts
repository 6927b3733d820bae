/**
 * What the page connects to, read once at start: `config.json` beside index.html (the devnet
 * writes one; a static deployment may ship its own), then the URL's query, which wins:
 *   ?node=URL        the rollups node; JSON-RPC at URL/rpc             (default: the page's origin)
 *   ?inspect=URL     its inspect endpoint, without the application     (default: node URL + /inspect)
 *   ?chain=URL       the chain's JSON-RPC                              (default: http://127.0.0.1:8545)
 *   ?app=ADDR|NAME   the application                                   (default: the node's first)
 *   ?portal=ADDR     the EtherPortal, to send Ether with a request     (default: none)
 *   ?pageSize=N      rows per page when browsing                       (default: 10)
 */
import * as z from 'zod'
import { address } from '../../dapp/protocol/primitives.ts'

const url = z.url({ protocol: /^https?$/ })

/** What `config.json` beside the page may say (web/serve.ts writes it for the devnet). */
export const fileSettings = z.object({
  nodeUrl: z.string().optional(),
  inspectUrl: z.string().optional(),
  chainUrl: z.string().optional(),
  application: z.string().optional(),
  etherPortal: address.optional(),
  pageSize: z.number().int().min(1).max(100).optional(),
})

const settings = z.object({
  nodeUrl: url,
  inspectUrl: url,
  chainUrl: url,
  application: z.union([address, z.string().regex(/^[a-z0-9_-]{3,}$/, 'an application name')]).optional(),
  etherPortal: address.optional(),
  pageSize: z.coerce.number().int().min(1).max(100),
})
export type Settings = z.output<typeof settings>

export class SettingsError extends Error {
  override name = 'SettingsError' as const
}

async function readConfigFile(base: URL): Promise<z.output<typeof fileSettings>> {
  const response = await fetch(new URL('config.json', base), { cache: 'no-store' })
  // No config.json is a static deployment that relies on the URL's settings.
  if (response.status === 404) return {}
  if (!response.ok) throw new SettingsError(`config.json could not be read: status ${response.status}`)
  const parsed = fileSettings.safeParse(await response.json().catch(() => undefined))
  if (!parsed.success) throw new SettingsError(`config.json is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  return parsed.data
}

export async function loadSettings(location: Location): Promise<Settings> {
  const base = new URL(location.href)
  const file = await readConfigFile(base)
  const query = base.searchParams
  const pick = (key: string) => query.get(key) ?? undefined
  const absolute = (value: string | undefined) => (value === undefined ? undefined : new URL(value, base).href.replace(/\/$/, ''))
  const nodeUrl = absolute(pick('node') ?? file.nodeUrl) ?? base.origin
  const parsed = settings.safeParse({
    nodeUrl,
    inspectUrl: absolute(pick('inspect') ?? file.inspectUrl) ?? `${nodeUrl}/inspect`,
    chainUrl: absolute(pick('chain') ?? file.chainUrl) ?? 'http://127.0.0.1:8545',
    application: pick('app') ?? file.application,
    etherPortal: pick('portal') ?? file.etherPortal,
    pageSize: pick('pageSize') ?? file.pageSize ?? 10,
  })
  if (!parsed.success) throw new SettingsError(`Settings are not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  return parsed.data
}
