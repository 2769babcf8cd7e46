/**
 * A busybox rootfs built once from the host's static busybox and cached; tests get a private copy.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { busyboxPath } from './env.js'

/** Cache location: under os.tmpdir() so copies stay on one filesystem with the bundles. */
const CACHE = join(tmpdir(), 'lxts-test-cache')
/** Bump when the layout below changes. */
const LAYOUT = 'busybox-rootfs-v1'

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'
const GROUP = 'root:x:0:\nwheel:x:10:\nusers:x:100:\nuser:x:1000:\nnogroup:x:65534:\n'

/** Populate `dir` with busybox, one symlink per applet, the usual directories and users. */
function populate(dir: string, busybox: string): void {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root', 'home/user', 'run', 'var']) {
    mkdirSync(join(dir, d), { recursive: true })
  }
  chmodSync(join(dir, 'tmp'), 0o1777)
  cpSync(busybox, join(dir, 'bin', 'busybox'))
  chmodSync(join(dir, 'bin', 'busybox'), 0o755)
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => /^[\w.[-]+$/.test(a))
  for (const applet of applets) {
    if (applet === 'busybox') continue
    symlinkSync('busybox', join(dir, 'bin', applet))
  }
  writeFileSync(join(dir, 'etc', 'passwd'), PASSWD)
  writeFileSync(join(dir, 'etc', 'group'), GROUP)
  writeFileSync(join(dir, 'etc', 'hostname'), 'lxts-rootfs\n')
}

/** Path of the cached busybox rootfs, building it on first use. Safe against concurrent builders. */
export function cachedRootfs(): string {
  const busybox = busyboxPath()
  if (busybox === undefined) throw new Error('no static busybox on this host (apt-get install busybox-static)')
  // keyed by the busybox binary too, so an upgraded host busybox rebuilds the cache
  const st = statSync(busybox)
  const target = join(CACHE, `${LAYOUT}-${st.size}-${Math.floor(st.mtimeMs)}`)
  if (existsSync(join(target, 'bin', 'busybox'))) return target
  mkdirSync(CACHE, { recursive: true })
  const staging = join(CACHE, `.staging-${process.pid}-${Date.now()}`)
  populate(staging, busybox)
  try {
    renameSync(staging, target)
  } catch {
    // another worker won the race: its copy is identical
    rmSync(staging, { recursive: true, force: true })
  }
  return target
}

/** Copy the cached rootfs to `dest` (a real copy: tests may mutate their own). */
export function copyRootfs(dest: string): void {
  cpSync(cachedRootfs(), dest, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true })
}
