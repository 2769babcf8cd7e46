/**
 * Temp OCI bundles (private busybox rootfs + runc-like config.json), unique ids, and the leak checks
 * every integration spec runs after itself.
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { copyRootfs } from './rootfs.js'

/** Parent of every test container's cgroup, the same under every hierarchy. */
export const CGROUP_PARENT = '/lxts-test'

/** An id mapping (`linux.uidMappings[]`, `mounts[].uidMappings[]`). */
export interface IdMap {
  containerID: number
  hostID: number
  size: number
}

/** The subset of an OCI config the tests build and tweak. Anything else passes through. */
export interface TestConfig {
  ociVersion: string
  process: {
    terminal: boolean
    user: { uid: number; gid: number; additionalGids?: number[] }
    args: string[]
    env: string[]
    cwd: string
    capabilities: Record<'bounding' | 'effective' | 'permitted', string[]> & { inheritable?: string[]; ambient?: string[] }
    rlimits?: { type: string; hard: number; soft: number }[]
    noNewPrivileges: boolean
    [k: string]: unknown
  }
  root: { path: string; readonly: boolean }
  hostname: string
  mounts: { destination: string; type: string; source: string; options?: string[]; uidMappings?: IdMap[]; gidMappings?: IdMap[] }[]
  linux: {
    cgroupsPath: string
    namespaces: { type: string; path?: string }[]
    maskedPaths: string[]
    readonlyPaths: string[]
    [k: string]: unknown
  }
  [k: string]: unknown
}

/** The capabilities of runc's default spec. */
export const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']

/** A fresh unique container id. */
export function newId(): string {
  return `lxts-t-${randomBytes(5).toString('hex')}`
}

/** A runc-like default config (`runc spec`), cgroup under {@link CGROUP_PARENT}/<id>. */
export function defaultConfig(id: string, args: string[] = ['sh']): TestConfig {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...DEFAULT_CAPS], effective: [...DEFAULT_CAPS], permitted: [...DEFAULT_CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'lxts-test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      cgroupsPath: `${CGROUP_PARENT}/${id}`,
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  }
}

/** A temp bundle. */
export interface Bundle {
  id: string
  dir: string
  rootfs: string
  config: TestConfig
  /** Rewrite config.json from `config` (after mutating it), or write raw text. */
  write(raw?: string): void
}

/** Make a bundle with a private rootfs copy; `edit` may change the config before it is written. */
export function makeBundle(args: string[] = ['sh'], edit?: (c: TestConfig) => void, id: string = newId()): Bundle {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-bundle-'))
  chmodSync(dir, 0o755) // mkdtemp makes 0700, which a user-namespaced root could not traverse
  const rootfs = join(dir, 'rootfs')
  copyRootfs(rootfs)
  chmodSync(join(rootfs, 'tmp'), 0o1777)
  // lets a test prove that / inside the container is this bundle's rootfs
  writeFileSync(join(rootfs, 'lxts-marker'), `marker-${id}\n`)
  const config = defaultConfig(id, args)
  edit?.(config)
  const bundle: Bundle = {
    id,
    dir: realpathSync(dir),
    rootfs: realpathSync(rootfs),
    config,
    write(raw?: string) {
      writeFileSync(join(dir, 'config.json'), raw ?? JSON.stringify(bundle.config, null, 2))
    },
  }
  bundle.write()
  return bundle
}

/** Remove a bundle directory. Never follows into mounts: refuses if something is still mounted there. */
export function removeBundle(dir: string): void {
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4]?.startsWith(dir + '/'))
  if (mounted) throw new Error(`refusing to remove ${dir}: something is still mounted under it`)
  rmSync(dir, { recursive: true, force: true })
}

/** A temp `--root` state directory for one spec file. */
export function makeStateRoot(): string {
  return realpathSync(mkdtempSync(join(tmpdir(), 'lxts-root-')))
}

/** One mounted cgroup hierarchy. */
export interface CgroupMount {
  path: string
  version: 1 | 2
  /** A named v1 hierarchy without controllers (`name=systemd`). */
  named: boolean
}

/** Mount points of every cgroup hierarchy on the host (v1 controllers, named v1, and cgroup2). */
export function cgroupMounts(): CgroupMount[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .flatMap((line): CgroupMount[] => {
      const [left, right] = line.split(' - ')
      if (left === undefined || right === undefined) return []
      const mp = left.split(' ')[4]
      const [fstype, , superOpts] = right.split(' ')
      if (mp === undefined) return []
      if (fstype === 'cgroup2') return [{ path: mp, version: 2, named: false }]
      if (fstype !== 'cgroup') return []
      const named = (superOpts ?? '').split(',').some((o) => o.startsWith('name='))
      return [{ path: mp, version: 1, named }]
    })
}

/** Existing cgroup directories of container `id` (under `parent`) across all hierarchies. */
export function cgroupDirsOf(id: string, parent: string = CGROUP_PARENT): string[] {
  return cgroupMounts()
    .map((m) => join(m.path, parent, id))
    .filter((p) => existsSync(p))
}

/** Whether a process exists and is not a zombie (PID 1 here reaps orphans slowly). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

/** Live (non-zombie) processes whose cgroup membership names container `id` (under `parent`). */
export function processesOf(id: string, parent: string = CGROUP_PARENT): number[] {
  const needle = `${parent}/${id}`
  const pids: number[] = []
  for (const ent of readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue
    try {
      const cg = readFileSync(`/proc/${ent}/cgroup`, 'utf8')
      if (cg.split('\n').some((l) => l.endsWith(needle) || l.includes(needle + '/'))) {
        if (processAlive(Number(ent))) pids.push(Number(ent))
      }
    } catch {
      // raced with exit
    }
  }
  return pids
}

/** Remove the empty {@link CGROUP_PARENT} directories (the hierarchy roots are never touched). */
export function removeCgroupParents(): void {
  for (const m of cgroupMounts()) {
    try {
      rmdirSync(join(m.path, CGROUP_PARENT))
    } catch {
      // absent, or still in use by a concurrently running spec file
    }
  }
}
