/**
 * What the integration tier needs from the machine, and a visible reason when it is missing.
 * Integration tests run real containers: they need root and a static busybox for the rootfs.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ExecutionContext, TestFn } from 'ava'

/** Repository root (two levels above this file). */
export const REPO: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Candidate locations of the host's static busybox (Debian `busybox-static`). */
const BUSYBOX_PATHS = ['/bin/busybox', '/usr/bin/busybox', '/sbin/busybox', '/usr/sbin/busybox']

/** Whether this process runs as root. */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0
}

/** Whether an ELF file has a PT_INTERP header (is dynamically linked). 64-bit little-endian only. */
function hasInterpreter(path: string): boolean {
  const fd = openSync(path, 'r')
  try {
    const head = Buffer.alloc(64)
    readSync(fd, head, 0, 64, 0)
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return false
    const phoff = Number(head.readBigUInt64LE(32))
    const phentsize = head.readUInt16LE(54)
    const phnum = head.readUInt16LE(56)
    const ph = Buffer.alloc(phentsize * phnum)
    readSync(fd, ph, 0, ph.length, phoff)
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3) return true
    return false
  } finally {
    closeSync(fd)
  }
}

/** Path of a static busybox on the host, or undefined. */
export function busyboxPath(): string | undefined {
  for (const p of BUSYBOX_PATHS) {
    try {
      if (existsSync(p) && !hasInterpreter(p)) return p
    } catch {
      // unreadable candidate: try the next one
    }
  }
  return undefined
}

/** Whether a static busybox is available to build test rootfs from. */
export function hasBusybox(): boolean {
  return busyboxPath() !== undefined
}

/** Files `npm run build` must have produced for the integration tier. */
export function missingBuildOutputs(): string[] {
  const missing: string[] = []
  if (!existsSync(join(REPO, 'lxts-helper'))) missing.push('lxts-helper (npm run build:native)')
  if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) missing.push('dist/cli/main.js (npm run build:ts)')
  return missing
}

/** Why the integration tier cannot run here, or undefined when it can. */
export function integrationSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'integration tests need Linux'
  if (!isRoot()) return 'integration tests need root (they create namespaces, mounts and cgroups)'
  if (!hasBusybox()) return 'integration tests need a static busybox (apt-get install busybox-static)'
  return undefined
}

/** How an integration spec registers a test: `(title, impl)`, serial within the file. */
export type Register = (title: string, impl: TestImpl) => void

/** A test body, typed as ava's own (so `return t.pass()` or returning a value from an async body is fine). */
export type TestImpl = ((t: ExecutionContext) => PromiseLike<void>) | ((t: ExecutionContext) => void)

/**
 * `test.serial` when the integration tier can run, otherwise `test.serial.skip` with the reason
 * printed once, so a skipped run is never mistaken for a green one.
 * A missing build is NOT a skip: the tests fail and say what to build.
 */
export function skipUnlessRoot(test: TestFn): Register {
  return register(test, false)
}

/** Like {@link skipUnlessRoot} for a KNOWN BUG: ava's `failing` (passes while the bug is there, fails once fixed). */
export function knownBugUnlessRoot(test: TestFn): Register {
  return register(test, true)
}

function register(test: TestFn, failing: boolean): Register {
  const reason = integrationSkipReason()
  if (reason === undefined) {
    return failing ? (title, impl) => test.serial.failing(title, impl) : (title, impl) => test.serial(title, impl)
  }
  // CI sets this: there a skip would hide that nothing ran, so it is an error instead
  if (process.env['LXTS_REQUIRE_INTEGRATION'] === '1') throw new Error(`LXTS_REQUIRE_INTEGRATION=1 but ${reason}`)
  if (!failing) process.stderr.write(`\n  SKIPPED: ${reason}\n\n`)
  return (title, impl) => test.serial.skip(`${title} (skipped: ${reason})`, impl)
}
