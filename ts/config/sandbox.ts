/**
 * The config of `lxts run -- CMD` without an image: an empty root under the state
 * directory with the host's programs and libraries bound in read-only, fresh
 * `/proc`, `/dev` and `/tmp`, and private pid, ipc, uts, mount and network namespaces; for an
 * unprivileged caller also a user namespace whose root is the caller.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'

import { DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS, DEFAULT_PATH, DEFAULT_READONLY_PATHS, devMounts } from './defaults.js'
import type { OciConfig, OciMount } from './types.js'

/** Host directories bound read-only into a sandbox, when they exist. */
export const SANDBOX_HOST_DIRS: readonly string[] = ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/etc']

/** Options of {@link sandboxConfig}. */
export interface SandboxOptions {
  /** Container id (names the root directory and the hostname). */
  id: string
  /** Runtime state root (`--root`); the sandbox root is `<root>/<id>/rootfs`. */
  root: string
  /** Host directories to bind read-only (default {@link SANDBOX_HOST_DIRS} that exist). */
  hostDirs?: readonly string[]
  /** Extra environment entries (`KEY=value`). */
  env?: readonly string[]
  /**
   * For an unprivileged user: a user namespace mapping root to the caller's uid and gid
   * (default: whether the caller is not root).
   */
  rootless?: boolean
}

/** Read-only bind options for host directories. */
const RO_BIND = ['rbind', 'ro', 'nosuid', 'nodev']

/** The sandbox config running `argv` (which must be non-empty). */
export function sandboxConfig(argv: string[], o: SandboxOptions): OciConfig {
  const caps = [...DEFAULT_CAPABILITIES]
  const dirs = o.hostDirs ?? SANDBOX_HOST_DIRS.filter((d) => existsSync(d))
  const binds: OciMount[] = dirs.map((d) => ({ destination: d, type: 'bind', source: d, options: [...RO_BIND] }))
  const rootless = o.rootless ?? process.geteuid?.() !== 0
  const config: OciConfig = {
    ociVersion: '1.2.0',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [...argv],
      env: [DEFAULT_PATH, `TERM=${process.env['TERM'] ?? 'xterm'}`, 'HOME=/root', ...(o.env ?? [])],
      cwd: '/',
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      noNewPrivileges: true,
    },
    root: { path: join(o.root, o.id, 'rootfs'), readonly: true },
    hostname: o.id.startsWith('lxts-') ? o.id.slice(0, 17) : `lxts-${o.id.slice(0, 12)}`,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      ...devMounts(rootless),
      ...binds,
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
      maskedPaths: DEFAULT_MASKED_PATHS.filter((p) => p.startsWith('/proc/')),
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  }
  if (rootless && config.linux !== undefined) {
    config.linux.namespaces?.push({ type: 'user' })
    config.linux.uidMappings = [{ containerID: 0, hostID: process.geteuid?.() ?? 0, size: 1 }]
    config.linux.gidMappings = [{ containerID: 0, hostID: process.getegid?.() ?? 0, size: 1 }]
  }
  return config
}
