/**
 * A minimal writer of the "newc" cpio format (the one the Linux kernel unpacks as an initramfs),
 * made to be deterministic: entries sorted by path, parents before children, every mtime 0,
 * uid and gid 0, inode numbers counted from 1 in that order, no hard links. The same entries
 * give the same bytes on any host, with no cpio program and no file system metadata involved.
 *
 * Format (linux/Documentation/driver-api/early-userspace/buffer-format.rst): each entry is a
 * 110-byte ASCII header ("070701" then 13 fields of 8 hex digits), the NUL-terminated name padded
 * to a multiple of 4 (counting the header), then the data padded to a multiple of 4; the archive
 * ends with an entry named "TRAILER!!!".
 */

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array | string; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  /** A character or block device node (e.g. /dev/console, which the kernel opens before init). */
  | { type: 'char' | 'block'; path: string; major: number; minor: number; mode?: number }

const S_IFDIR = 0o040000
const S_IFREG = 0o100000
const S_IFLNK = 0o120000
const S_IFCHR = 0o020000
const S_IFBLK = 0o060000

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio field out of range: ${n}`)
  return n.toString(16).padStart(8, '0')
}

const pad4 = (n: number) => (4 - (n % 4)) % 4

function normalize(path: string): string {
  const clean = path.replace(/^\/+/, '').replace(/\/+$/, '')
  if (!clean || clean.split('/').some((p) => p === '' || p === '.' || p === '..')) throw new Error(`Bad cpio path: "${path}"`)
  return clean
}

/** Adds the missing parent directories (mode 0755) and sorts so that a parent comes first. */
export function completeEntries(entries: readonly CpioEntry[]): CpioEntry[] {
  const byPath = new Map<string, CpioEntry>()
  for (const e of entries) {
    const path = normalize(e.path)
    if (byPath.has(path)) throw new Error(`Duplicate cpio path: ${path}`)
    byPath.set(path, { ...e, path })
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/')
      const existing = byPath.get(parent)
      if (!existing) byPath.set(parent, { type: 'dir', path: parent })
      else if (existing.type !== 'dir') throw new Error(`cpio path ${parent} is a parent of ${path} but not a directory`)
    }
  }
  // Byte order of the UTF-8 path, with "/" sorting first so that a directory's entries follow it.
  const key = (p: string) => Buffer.from(p.replaceAll('/', '\u0000'))
  return [...byPath.values()].sort((a, b) => Buffer.compare(key(a.path), key(b.path)))
}

/** The archive's bytes. Uncompressed: the kernel takes a plain cpio as initrd as well. */
export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const chunks: Buffer[] = []
  let offset = 0
  const push = (b: Buffer) => {
    chunks.push(b)
    offset += b.length
  }
  const entry = (ino: number, name: string, mode: number, data: Buffer, rdev: { major: number; minor: number }, nlink: number) => {
    const nameBytes = Buffer.from(`${name}\u0000`)
    const header =
      '070701' +
      [ino, mode, 0, 0, nlink, 0, data.length, 0, 0, rdev.major, rdev.minor, nameBytes.length, 0].map(hex8).join('')
    push(Buffer.from(header, 'ascii'))
    push(nameBytes)
    push(Buffer.alloc(pad4(offset)))
    push(data)
    push(Buffer.alloc(pad4(offset)))
  }
  let ino = 1
  for (const e of completeEntries(entries)) {
    const none = { major: 0, minor: 0 }
    switch (e.type) {
      case 'dir':
        entry(ino++, e.path, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0), none, 2)
        break
      case 'file':
        entry(ino++, e.path, S_IFREG | (e.mode ?? 0o644), Buffer.from(e.data), none, 1)
        break
      case 'symlink':
        entry(ino++, e.path, S_IFLNK | 0o777, Buffer.from(e.target), none, 1)
        break
      case 'char':
      case 'block':
        entry(ino++, e.path, (e.type === 'char' ? S_IFCHR : S_IFBLK) | (e.mode ?? 0o600), Buffer.alloc(0), e, 1)
        break
    }
  }
  entry(0, 'TRAILER!!!', 0, Buffer.alloc(0), { major: 0, minor: 0 }, 1)
  return Buffer.concat(chunks)
}
