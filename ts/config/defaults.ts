/** The default `config.json` written by `lxts spec`, the same as `runc spec`'s. */
import type { OciConfig, OciMount } from './types.js'

/** The runc default capability set. */
export const DEFAULT_CAPABILITIES: readonly string[] = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']

/** The default `PATH` inside a container. */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** Paths masked in `/proc` and `/sys` by default. */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
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
]

/** Paths made read-only in `/proc` by default. */
export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']

/** The `/dev` family of mounts every default config has (tmpfs /dev, devpts, shm, mqueue). */
export function devMounts(rootless = false): OciMount[] {
  const pts = ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620']
  return [
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: rootless ? pts : [...pts, 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  ]
}

/** Options of {@link defaultSpec}. */
export interface DefaultSpecOptions {
  /** Produce a config for an unprivileged user (user namespace, no network/cgroup namespace). */
  rootless?: boolean
  /** Host uid/gid mapped to root in the rootless case (defaults: the current ones). */
  hostUid?: number
  hostGid?: number
}

/** runc's default `config.json` (`rootfs` as the root, `sh` as the process, a terminal). */
export function defaultSpec(o: DefaultSpecOptions = {}): OciConfig {
  const rootless = o.rootless === true
  const caps = [...DEFAULT_CAPABILITIES]
  const sys: OciMount[] = rootless
    ? [{ destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }]
    : [
        { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
        { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      ]
  const config: OciConfig = {
    ociVersion: '1.2.0',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: [DEFAULT_PATH, 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'lxts',
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }, ...devMounts(rootless), ...sys],
    linux: {
      namespaces: rootless
        ? [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }]
        : [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  }
  if (rootless && config.linux !== undefined) {
    const uid = o.hostUid ?? process.geteuid?.() ?? 0
    const gid = o.hostGid ?? process.getegid?.() ?? 0
    config.linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }]
    config.linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }]
  } else if (config.linux !== undefined) {
    config.linux.resources = { devices: [{ allow: false, access: 'rwm' }] }
  }
  return config
}
