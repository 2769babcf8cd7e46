/**
 * Turn a validated config into the launch plan the helper reads on its control channel
 * (`crates/lxts-core/src/plan.rs`): host paths made absolute, the cgroup path decided.
 */
import { readFileSync, statSync } from 'node:fs'
import { isAbsolute, posix, resolve } from 'node:path'

import { LxtsError, errnoCode } from '../errors.js'
import type { OciConfig, OciMount } from './types.js'

/** `Plan.mode`: `create` exits once the init waits on `exec.fifo`; `monitor` stays its parent. */
export type PlanMode = 'create' | 'monitor'

/** The single message Node sends to the helper. */
export interface Plan {
  mode: PlanMode
  id: string
  bundle: string
  stateDir: string
  config: OciConfig
  cgroup: { path: string } | null
  noPivot: boolean
  preserveFds: number
  consoleSocket: string | null
  /** `--init`: PID 1 is a tiny reaping, signal-forwarding init that forks the process. */
  init: boolean
  /** With `init`: signals go to the process's group instead of the process. */
  initForwardToGroup: boolean
  /** Monitor mode: the monitor removes the cgroups and state directory after the exit (`run -d --rm`). */
  removeOnExit: boolean
  /**
   * Monitor mode: the monitor starts the process right after `created` (reads `exec.fifo`) and
   * reports `running` or the start's error; `Runtime.run` without prestart/poststart hooks.
   */
  startOnCreate: boolean
}

/** Inputs of {@link buildPlan} besides the config. */
export interface PlanOptions {
  mode: PlanMode
  id: string
  /** Bundle directory; relative paths in the config are resolved against it. */
  bundle: string
  /** `<root>/<id>`. */
  stateDir: string
  noPivot?: boolean | undefined
  preserveFds?: number | undefined
  consoleSocket?: string | undefined
  init?: boolean | undefined
  initForwardToGroup?: boolean | undefined
  removeOnExit?: boolean | undefined
  startOnCreate?: boolean | undefined
  /** lxts's own cgroup path (default: read from `/proc/self/cgroup`). */
  ownCgroup?: string | undefined
  /**
   * No cgroup: lxts runs unprivileged and the config asks for no limits ({@link wantsLimits};
   * an unprivileged user can write no cgroup here; runc's rootless mode does the same). Device
   * rules, which only a cgroup enforces, are left to the user namespace, where no device node
   * can be made.
   */
  noCgroup?: boolean | undefined
}

/** Whether `config` asks for a limit only a cgroup enforces (device rules aside). */
export function wantsLimits(config: OciConfig): boolean {
  const r = config.linux?.resources as Record<string, unknown> | undefined
  return r !== undefined && Object.entries(r).some(([k, v]) => k !== 'devices' && v !== undefined && v !== null && !(typeof v === 'object' && Object.keys(v).length === 0))
}

/**
 * lxts's own cgroup path from `/proc/self/cgroup` text: the v1 `memory` line when there
 * is one, else the unified (`0::`) line, else `/`.
 */
export function ownCgroupPath(text?: string): string {
  let body = text
  if (body === undefined) {
    try {
      body = readFileSync('/proc/self/cgroup', 'utf8')
    } catch {
      return '/'
    }
  }
  let unified: string | undefined
  for (const line of body.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line)
    if (m === null) continue
    const [, , controllers = '', path = '/'] = m
    if (controllers.split(',').includes('memory')) return path
    if (m[1] === '0' && controllers === '') unified = path
  }
  return unified ?? '/'
}

/**
 * The container's cgroup path: an absolute `linux.cgroupsPath` as is, a relative one
 * under lxts's own cgroup, none → `/lxts/<id>`. `slice:prefix:name` is ERR_LXTS_UNSUPPORTED.
 */
export function cgroupPath(cgroupsPath: string | undefined, id: string, ownCgroup?: string): string {
  if (cgroupsPath === undefined || cgroupsPath === '') return `/lxts/${id}`
  if (cgroupsPath.includes(':')) {
    throw new LxtsError('ERR_LXTS_UNSUPPORTED', `linux.cgroupsPath: "${cgroupsPath}" is a systemd cgroup path; lxts manages cgroupfs paths only`, {
      field: 'linux.cgroupsPath',
    })
  }
  if (cgroupsPath.split('/').includes('..')) {
    throw new LxtsError('ERR_LXTS_INVALID_CONFIG', `linux.cgroupsPath: "${cgroupsPath}" must not contain ".."`, { field: 'linux.cgroupsPath' })
  }
  const p = cgroupsPath.startsWith('/') ? posix.normalize(cgroupsPath) : posix.join(ownCgroup ?? ownCgroupPath(), cgroupsPath)
  if (p === '/') {
    throw new LxtsError('ERR_LXTS_INVALID_CONFIG', `linux.cgroupsPath: "${cgroupsPath}" does not name a cgroup below the root`, {
      field: 'linux.cgroupsPath',
    })
  }
  return p.replace(/\/+$/, '')
}

/** Whether a mount is a bind mount (type `bind` or a `bind`/`rbind` option). */
export function isBind(m: OciMount): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')
}

/** `root.path` against the bundle; it must be an existing directory (ERR_LXTS_BUNDLE). */
export function resolveRootfs(bundle: string, rootPath: string): string {
  const path = resolve(bundle, rootPath)
  let isDir = false
  try {
    isDir = statSync(path).isDirectory()
  } catch (err) {
    const why = errnoCode(err) === 'ENOENT' ? 'does not exist' : (err as Error).message
    throw new LxtsError('ERR_LXTS_BUNDLE', `root.path ${path} ${why}`, { path, field: 'root.path', cause: err })
  }
  if (!isDir) throw new LxtsError('ERR_LXTS_BUNDLE', `root.path ${path} is not a directory`, { path, field: 'root.path' })
  return path
}

/** The normalized config: root and bind sources absolute, everything else as given. */
export function normalizeConfig(config: OciConfig, bundle: string): OciConfig {
  const c = structuredClone(config)
  const root = c.root?.path
  if (root === undefined) throw new LxtsError('ERR_LXTS_INVALID_CONFIG', 'root.path: is required', { field: 'root.path' })
  c.root = { ...c.root, path: resolveRootfs(bundle, root) }
  c.mounts = (c.mounts ?? []).map((m) =>
    isBind(m) && m.source !== undefined && !isAbsolute(m.source) ? { ...m, source: resolve(bundle, m.source) } : m,
  )
  return c
}

/** Build the plan for a validated config. */
export function buildPlan(config: OciConfig, o: PlanOptions): Plan {
  const bundle = resolve(o.bundle)
  return {
    mode: o.mode,
    id: o.id,
    bundle,
    stateDir: o.stateDir,
    config: normalizeConfig(config, bundle),
    cgroup: o.noCgroup === true ? null : { path: cgroupPath(config.linux?.cgroupsPath, o.id, o.ownCgroup) },
    noPivot: o.noPivot ?? false,
    preserveFds: o.preserveFds ?? 0,
    consoleSocket: o.consoleSocket ?? null,
    init: o.init ?? false,
    initForwardToGroup: o.initForwardToGroup ?? false,
    removeOnExit: o.removeOnExit ?? false,
    startOnCreate: o.startOnCreate ?? false,
  }
}
