import { join } from 'node:path'

/**
 * Where Cartenix keeps what is heavy and slow to make, outside the work tree so that another
 * clone (or CI after a session) reuses it: Debian packages and upstream tarballs (each checked
 * against its lock's sha256 before use), the assembled seeds, the riscv64 tree and its image, the
 * VM's kernel. Everything in it is keyed by, or checked against, a lock: deleting it only costs
 * time. CARTENIX_CACHE moves it.
 */
export const artefactsRoot = process.env.CARTENIX_CACHE ?? '/var/cache/cartenix'

export const artefactsDir = (...parts: string[]) => join(artefactsRoot, ...parts)
