/**
 * The initramfs writer is deterministic and writes what the kernel reads: the same entries in
 * any order give the same bytes, parents are added before their children, every header is a
 * newc header with mtime 0 and uid 0, names and data are 4-byte aligned, and the archive ends
 * with TRAILER!!!. Read back with a small newc reader here (no cpio program needed).
 */
import { describe, expect, it } from 'vitest'
import { type CpioEntry, writeCpio } from './cpio.ts'

type Read = { name: string; mode: number; uid: number; mtime: number; nlink: number; rdev: [number, number]; data: Buffer }

function readNewc(archive: Buffer): Read[] {
  const out: Read[] = []
  let at = 0
  for (;;) {
    expect(at % 4).toBe(0)
    const header = archive.subarray(at, at + 110).toString('ascii')
    expect(header.slice(0, 6)).toBe('070701')
    const field = (i: number) => parseInt(header.slice(6 + i * 8, 14 + i * 8), 16)
    const size = field(6)
    const nameSize = field(11)
    const nameStart = at + 110
    const name = archive.subarray(nameStart, nameStart + nameSize - 1).toString()
    expect(archive[nameStart + nameSize - 1]).toBe(0)
    const dataStart = Math.ceil((nameStart + nameSize) / 4) * 4
    const data = archive.subarray(dataStart, dataStart + size)
    at = Math.ceil((dataStart + size) / 4) * 4
    if (name === 'TRAILER!!!') {
      expect(at).toBe(archive.length)
      return out
    }
    out.push({ name, mode: field(1), uid: field(2), mtime: field(5), nlink: field(4), rdev: [field(9), field(10)], data })
  }
}

const entries: CpioEntry[] = [
  { type: 'file', path: 'lib/modules/ext4.ko', data: Buffer.from([0, 1, 2, 3, 4]) },
  { type: 'file', path: 'init', data: '#!/bin/busybox sh\n', mode: 0o755 },
  { type: 'symlink', path: 'bin/sh', target: 'busybox' },
  { type: 'char', path: 'dev/console', major: 5, minor: 1 },
  { type: 'file', path: 'bin/busybox', data: 'x', mode: 0o755 },
]

describe('writeCpio', () => {
  it('gives the same bytes whatever the order of the entries', () => {
    expect(writeCpio(entries).equals(writeCpio([...entries].reverse()))).toBe(true)
  })

  it('writes newc entries the kernel can unpack: parents first, mtime 0, uid 0', () => {
    const read = readNewc(writeCpio(entries))
    expect(read.map((r) => r.name)).toEqual(['bin', 'bin/busybox', 'bin/sh', 'dev', 'dev/console', 'init', 'lib', 'lib/modules', 'lib/modules/ext4.ko'])
    for (const r of read) {
      expect(r.mtime).toBe(0)
      expect(r.uid).toBe(0)
    }
    const byName = new Map(read.map((r) => [r.name, r]))
    expect(byName.get('init')!.mode).toBe(0o100755)
    expect(byName.get('bin')!.mode).toBe(0o040755)
    expect(byName.get('bin/sh')!.mode).toBe(0o120777)
    expect(byName.get('bin/sh')!.data.toString()).toBe('busybox')
    expect(byName.get('dev/console')!.mode).toBe(0o020600)
    expect(byName.get('dev/console')!.rdev).toEqual([5, 1])
    expect([...byName.get('lib/modules/ext4.ko')!.data]).toEqual([0, 1, 2, 3, 4])
  })

  it('refuses duplicate paths, "..", and a file used as a directory', () => {
    expect(() => writeCpio([{ type: 'dir', path: 'a' }, { type: 'dir', path: '/a/' }])).toThrow(/Duplicate/)
    expect(() => writeCpio([{ type: 'file', path: 'a/../b', data: '' }])).toThrow(/Bad cpio path/)
    expect(() => writeCpio([{ type: 'file', path: 'a', data: '' }, { type: 'file', path: 'a/b', data: '' }])).toThrow(/not a directory/)
  })
})
