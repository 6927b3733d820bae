import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exec } from '../../dapp/lib/exec.ts'

/**
 * Debian packages the host needs: Nix itself, busybox for the machine image's tooling, and
 * chromium, the browser the web page's tests drive (test/web/).
 */
export const hostPackages = ['nix-bin', 'busybox-static', 'chromium'] as const

export async function missingPackages(names: readonly string[]): Promise<string[]> {
  const missing: string[] = []
  for (const name of names) {
    const status = await exec('dpkg-query', ['--show', '--showformat=${Status}', name]).then((r) => r.stdout, () => '')
    if (!status.endsWith('install ok installed')) missing.push(name)
  }
  return missing
}

type AptSource = { format: 'deb822' | 'one-line'; text: string }

async function readAptSources(): Promise<AptSource[]> {
  const sources: AptSource[] = []
  const main = await readFile('/etc/apt/sources.list', 'utf8').catch(() => '')
  if (main) sources.push({ format: 'one-line', text: main })
  const dir = '/etc/apt/sources.list.d'
  for (const file of (await readdir(dir).catch(() => [] as string[])).sort()) {
    const text = await readFile(join(dir, file), 'utf8')
    if (file.endsWith('.sources')) sources.push({ format: 'deb822', text })
    else if (file.endsWith('.list')) sources.push({ format: 'one-line', text })
  }
  return sources
}

const isDebianArchive = (uri: string) => /\/debian\/?$/.test(uri)

/**
 * The deb-src entry `apt-get source` needs, for the same Debian mirror and suites the host already
 * uses, or undefined when one exists. Never touches the host's own files.
 */
export async function debSrcEntry(): Promise<string | undefined> {
  const sources = await readAptSources()
  for (const source of sources) {
    const lines = source.text.split('\n').map((l) => l.trim())
    if (source.format === 'one-line' && lines.some((l) => l.startsWith('deb-src '))) return undefined
    if (source.format === 'deb822' && lines.some((l) => /^Types:.*\bdeb-src\b/.test(l))) return undefined
  }
  for (const source of sources) {
    if (source.format === 'one-line') {
      const line = source.text.split('\n').map((l) => l.trim()).find((l) => l.startsWith('deb ') && isDebianArchive(l.replace(/\[[^\]]*\]/, '').split(/\s+/)[1] ?? ''))
      if (line) return `${line.replace(/^deb /, 'deb-src ')}\n`
    } else {
      for (const stanza of source.text.split(/\n\s*\n/)) {
        const field = (key: string) => new RegExp(`^${key}:\\s*(.*)$`, 'mi').exec(stanza)?.[1]?.trim()
        const uris = field('URIs')
        if (!/\bdeb\b/.test(field('Types') ?? '') || !uris || !uris.split(/\s+/).some(isDebianArchive)) continue
        return [
          'Types: deb-src',
          `URIs: ${uris}`,
          `Suites: ${field('Suites') ?? ''}`,
          `Components: ${field('Components') ?? 'main'}`,
          ...(field('Signed-By') ? [`Signed-By: ${field('Signed-By')}`] : []),
          '',
        ].join('\n')
      }
    }
  }
  throw new Error('No Debian mirror found in /etc/apt/sources.list{,.d}: cannot add the deb-src entry `apt-get source` needs')
}

/** Adds what is missing (packages, the deb-src entry) and says whether anything was done. */
export async function ensureApt(log: (line: string) => void): Promise<boolean> {
  const entry = await debSrcEntry()
  const missing = await missingPackages(hostPackages)
  if (!entry && missing.length === 0) return false
  if (entry) {
    const deb822 = entry.startsWith('Types:')
    const file = `/etc/apt/sources.list.d/cartenix-deb-src.${deb822 ? 'sources' : 'list'}`
    log(`apt: adding ${file}`)
    await writeFile(file, entry)
  }
  log('apt: apt-get update')
  await exec('apt-get', ['update', '-qq'])
  if (missing.length > 0) {
    log(`apt: installing ${missing.join(' ')}`)
    await exec('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
  }
  return true
}

/**
 * Options for apt-get and apt-cache that use a private configuration in `root` for one suite and
 * architecture, independent of the host's sources and of what the host has installed: apt
 * resolves and fetches as if for an empty system of that architecture (the seed, the VM's
 * kernel). The host's Debian keyring verifies the indices.
 */
export async function privateAptOptions(args: { root: string; arch: string; suite: string; mirror: string }): Promise<string[]> {
  const { root } = args
  for (const dir of ['etc/apt/apt.conf.d', 'etc/apt/preferences.d', 'etc/apt/sources.list.d', 'var/lib/apt/lists/partial', 'var/cache/apt/archives/partial', 'var/lib/dpkg']) {
    await mkdir(join(root, dir), { recursive: true })
  }
  await writeFile(join(root, 'var/lib/dpkg/status'), '')
  await writeFile(
    join(root, 'etc/apt/sources.list'),
    `deb [arch=${args.arch} signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${args.mirror} ${args.suite} main\n`,
  )
  return [
    '-o', `Dir=${root}`,
    '-o', `Dir::State::status=${join(root, 'var/lib/dpkg/status')}`,
    '-o', `APT::Architecture=${args.arch}`,
    '-o', `APT::Architectures::=${args.arch}`,
    '-o', 'Acquire::Languages=none',
    '-o', 'Debug::NoLocking=1',
  ]
}
