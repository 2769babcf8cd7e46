/**
 * Builds the benchmark fixtures once under $LXTS_BENCH_DIR (default /tmp/lxts-bench):
 * a busybox rootfs shared read-only by every container, and bundles whose config.json is
 * `runc spec` with the process set to /bin/true (or sleep) and a cgroup under /lxts-bench.
 * runc and lxts get the same config. Ambient capabilities are dropped from runc's default
 * spec (lxts refuses to raise an ambient capability that is not inheritable; runc ignores
 * the failure) so both runtimes run the identical config.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const BENCH_DIR = process.env.LXTS_BENCH_DIR || '/tmp/lxts-bench'
export const ROOTFS = join(BENCH_DIR, 'rootfs')
/**
 * Where the runtimes' state roots go: run-all.sh mounts a tmpfs there, as /run is on a stock
 * host (this VM's /run is its ext4 root, where each atomic state write costs ~0.2 ms and
 * varies with the disk's load); LXTS_BENCH_DISK_STATE=1 keeps them on disk under BENCH_DIR.
 */
export const STATE_BASE = process.env.LXTS_BENCH_STATE || BENCH_DIR
/** Parent of every benchmark cgroup (same path under every hierarchy). */
export const CGROUP_PARENT = '/lxts-bench'

function busybox() {
  for (const path of ['/bin/busybox', '/usr/bin/busybox']) {
    if (!existsSync(path)) continue
    if (execFileSync('file', ['-L', path], { encoding: 'utf8' }).includes('statically linked')) return path
  }
  throw new Error('no static busybox: apt-get install -y busybox-static')
}

/** The shared rootfs: busybox with the applets the benchmarks use. */
export function ensureRootfs() {
  if (existsSync(join(ROOTFS, 'bin', 'busybox'))) return ROOTFS
  const staging = `${ROOTFS}.tmp-${process.pid}`
  rmSync(staging, { recursive: true, force: true })
  for (const dir of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root']) mkdirSync(join(staging, dir), { recursive: true })
  copyFileSync(busybox(), join(staging, 'bin', 'busybox'))
  chmodSync(join(staging, 'bin', 'busybox'), 0o755)
  for (const applet of ['true', 'sh', 'sleep', 'cat']) symlinkSync('busybox', join(staging, 'bin', applet))
  writeFileSync(join(staging, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
  execFileSync('mv', ['-T', staging, ROOTFS])
  return ROOTFS
}

let runcSpec
/** `runc spec` (the runtime's own default config), read once. */
function baseSpec() {
  if (runcSpec === undefined) {
    const dir = mkdtempSync(join(BENCH_DIR, '.spec-'))
    try {
      execFileSync('runc', ['spec'], { cwd: dir })
      runcSpec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  return structuredClone(runcSpec)
}

/**
 * The config both runtimes run: runc's default spec, `args`, cgroup `cgroupsPath`, and
 * optionally `linux.resources.memory.limit`.
 */
export function benchConfig(args, cgroupsPath, memoryLimit) {
  const config = baseSpec()
  config.process.terminal = false
  config.process.args = args
  delete config.process.capabilities.ambient
  delete config.process.capabilities.inheritable
  config.root = { path: ensureRootfs(), readonly: true }
  config.linux.cgroupsPath = cgroupsPath
  if (memoryLimit !== undefined) config.linux.resources = { ...config.linux.resources, memory: { limit: memoryLimit } }
  return config
}

/** Writes a bundle directory (config.json only; the rootfs is shared by absolute path). */
export function makeBundle(name, args, cgroupsPath, memoryLimit) {
  const dir = join(BENCH_DIR, 'bundles', name)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(benchConfig(args, cgroupsPath, memoryLimit), null, 2)}\n`)
  return dir
}

/** The mount point of every cgroup hierarchy (v1 and cgroup2). */
function cgroupMountPoints() {
  const points = []
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ')
    const sep = fields.indexOf('-')
    if (sep >= 0 && (fields[sep + 1] === 'cgroup' || fields[sep + 1] === 'cgroup2')) points.push(fields[4])
  }
  return points
}

/**
 * Makes the benchmark cgroup parent in every hierarchy, as a service has the group its
 * containers go under (an empty v1 cpuset is filled by whichever runtime runs first, as both
 * do for a parent someone else made). Both runtimes then do the same work per container, the
 * leaf's mkdir and rmdir: runc leaves a parent it made, lxts removes what it made, so without
 * this lxts would make and remove the parent every time.
 */
export function ensureCgroupParent() {
  for (const point of cgroupMountPoints()) mkdirSync(join(point, CGROUP_PARENT), { recursive: true })
}

/** Removes the benchmark cgroup parent (and any leftover children) from every hierarchy. */
export function removeCgroupParent() {
  for (const point of cgroupMountPoints()) {
    const dir = join(point, CGROUP_PARENT)
    if (!existsSync(dir)) continue
    // children first (they are empty once their containers are gone), then the parent
    const out = execFileSync('find', [dir, '-depth', '-type', 'd'], { encoding: 'utf8' })
    for (const sub of out.split('\n').filter(Boolean)) {
      try {
        execFileSync('rmdir', [sub], { stdio: 'ignore' })
      } catch {
        // still in use: reported by the caller's leak check
      }
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync(BENCH_DIR, { recursive: true })
  const which = process.argv[2] ?? 'all'
  if (which === 'cleanup' || which === 'reset') removeCgroupParent()
  else ensureRootfs()
  if (which === 'all' || which === 'reset') ensureCgroupParent()
  if (which === 'all') {
    makeBundle('true-lxts', ['/bin/true'], `${CGROUP_PARENT}/cli-lxts`)
    makeBundle('true-runc', ['/bin/true'], `${CGROUP_PARENT}/cli-runc`)
    // For `exec`: a container that keeps running.
    makeBundle('sleep-lxts', ['/bin/sleep', '1000'], `${CGROUP_PARENT}/cli-lxts`)
    makeBundle('sleep-runc', ['/bin/sleep', '1000'], `${CGROUP_PARENT}/cli-runc`)
  }
  console.log(BENCH_DIR)
}
