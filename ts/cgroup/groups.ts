/**
 * The cgroup primitives as a library: pick hierarchies, map an absolute cgroup path
 * (`/lxts-demo/a/b`) to one directory per hierarchy, and act on those directories.
 */
import { posix } from 'node:path'

import { LxtsError } from '../errors.js'
import { cgroupHost, type NativeCgroupHierarchy } from '../native.js'
import { helperPath } from '../lifecycle/helper.js'
import { signalNumber } from '../signals.js'
import { withTool, type GroupInfo, type Subsystem } from './native.js'
import { childProcess } from '../lazy-builtins.js'

export type { CgroupFile, GroupInfo, Subsystem } from './native.js'

/** Which hierarchies an operation acts on. Default: every mounted hierarchy. */
export interface HierarchySelector {
  /** A mount point (`/sys/fs/cgroup/memory`) or a controller (`memory`, `name=x`, `cgroup2`). */
  hierarchy?: string
  /** Hierarchies carrying any of these controllers (`-c cpu,memory`). */
  controllers?: string[]
}

/** A group's directory in one hierarchy. */
export interface GroupDir {
  /** The hierarchy's mount point. */
  mountPoint: string
  /** `true` on cgroup2. */
  v2: boolean
  controllers: string[]
  /** The group's directory. */
  dir: string
}

function matches(h: NativeCgroupHierarchy, what: string): boolean {
  if (posix.normalize(what) === posix.normalize(h.mountPoint)) return true
  if (what === 'cgroup2' || what === 'unified') return h.v2
  return h.controllers.includes(what) || h.controllers.includes(`name=${what}`)
}

/** The hierarchies `sel` picks; an explicit selector that matches nothing is an error. */
export async function hierarchies(sel: HierarchySelector = {}): Promise<NativeCgroupHierarchy[]> {
  let hs = (await cgroupHost()).hierarchies
  const wanted = sel.hierarchy
  if (wanted !== undefined) hs = hs.filter((h) => matches(h, wanted))
  const controllers = sel.controllers
  if (controllers !== undefined && controllers.length > 0) hs = hs.filter((h) => controllers.some((c) => matches(h, c)))
  if (hs.length === 0 && (wanted !== undefined || (controllers?.length ?? 0) > 0)) {
    const what = wanted ?? (controllers ?? []).join(',')
    throw new LxtsError('ERR_LXTS_CGROUP', `no mounted cgroup hierarchy matches ${JSON.stringify(what)} (see lxts cgroup subsystems)`)
  }
  return hs
}

/** Check an absolute cgroup path: no `.`/`..`, no empty name; `/` only when `allowRoot`. */
export function checkPath(path: string, allowRoot = false): string {
  const bad = (why: string): LxtsError => new LxtsError('ERR_LXTS_USAGE', `cgroup path ${JSON.stringify(path)}: ${why}`)
  if (!path.startsWith('/')) throw bad('must be absolute (like /lxts-demo/a)')
  const parts = path.split('/').filter((p) => p !== '')
  if (parts.some((p) => p === '.' || p === '..' || p.includes('\0'))) throw bad('must not contain . or ..')
  if (parts.length === 0 && !allowRoot) throw bad('must not be a hierarchy root')
  return `/${parts.join('/')}`
}

/** The directories of cgroup `path` in the selected hierarchies (path taken relative to each mount's root). */
export async function resolve(path: string, sel: HierarchySelector = {}, allowRoot = false): Promise<GroupDir[]> {
  const p = checkPath(path, allowRoot)
  return (await hierarchies(sel)).map((h) => {
    const rel = posix.relative(h.root, p)
    const inside = rel !== '' && !rel.startsWith('..') ? rel : rel === '' ? '' : p.slice(1)
    return { mountPoint: h.mountPoint, v2: h.v2, controllers: h.controllers, dir: posix.join(h.mountPoint, inside) }
  })
}

/** Every controller (`/proc/cgroups`), named hierarchy and cgroup2, with where each is mounted. */
export async function subsystems(): Promise<Subsystem[]> {
  return withTool((b) => b.cgroupSubsystems())
}

/** Mount a v1 hierarchy at `dir`: `controllers`, or a new named hierarchy `name` (`none,name=NAME`). */
export async function mount(dir: string, o: { controllers?: string[]; name?: string }): Promise<void> {
  await withTool((b) => b.cgroupMount(posix.resolve(dir), o.controllers ?? [], o.name ?? null))
}

/** Unmount the cgroup hierarchy at `dir`. */
export async function umount(dir: string): Promise<void> {
  await withTool((b) => b.cgroupUmount(posix.resolve(dir)))
}

/** Whether lxts mounted the hierarchy at `mountPoint` itself. */
export async function isOwned(mountPoint: string): Promise<boolean> {
  return withTool((b) => b.cgroupIsOwned(mountPoint))
}

/** Create group `path` (with its parents) in the selected hierarchies; returns the directories. */
export async function create(path: string, sel: HierarchySelector = {}): Promise<string[]> {
  const p = checkPath(path)
  const mountPoints = (await hierarchies(sel)).map((h) => h.mountPoint)
  if (mountPoints.length === 0) throw new LxtsError('ERR_LXTS_CGROUP', 'no cgroup hierarchy is mounted')
  return withTool((b) => b.cgroupCreate(p, mountPoints))
}

/**
 * Delete group `path` in the selected hierarchies where it exists. A populated group is
 * refused (naming its pids); child groups need `recursive`. Missing everywhere is an error.
 */
export async function remove(path: string, o: { recursive?: boolean } = {}, sel: HierarchySelector = {}): Promise<string[]> {
  const dirs = await existing(path, sel)
  await withTool((b) => {
    for (const d of dirs) b.cgroupDelete(d.dir, o.recursive === true)
  })
  return dirs.map((d) => d.dir)
}

/** The group's directories that exist; none is ERR_LXTS_CGROUP naming the path. */
export async function existing(path: string, sel: HierarchySelector = {}, allowRoot = false): Promise<GroupDir[]> {
  const { existsSync } = await import('node:fs')
  const dirs = (await resolve(path, sel, allowRoot)).filter((d) => existsSync(d.dir))
  if (dirs.length === 0) throw new LxtsError('ERR_LXTS_CGROUP', `cgroup ${path} does not exist in the selected hierarchies`)
  return dirs
}

/**
 * Move process `pid` into group `path`. With `thread`, only that thread moves (v1 `tasks`,
 * v2 `cgroup.threads`; `threaded` first makes a v2 group `threaded`).
 */
export async function attach(path: string, pid: number, o: { thread?: boolean; threaded?: boolean } = {}, sel: HierarchySelector = {}): Promise<void> {
  const dirs = await existing(path, sel)
  await withTool((b) => {
    for (const d of dirs) b.cgroupAttach(d.dir, pid, o.thread === true, o.threaded === true)
  })
}

/** Processes, threads, child groups and interface files of `path` in each selected hierarchy. */
export async function show(path: string, sel: HierarchySelector = {}): Promise<(GroupInfo & { mountPoint: string })[]> {
  const dirs = await existing(path, sel, true)
  return withTool((b) => dirs.map((d) => ({ mountPoint: d.mountPoint, ...b.cgroupShow(d.dir) })))
}

/** Read interface file `key` of `path` in each selected hierarchy that has it. */
export async function get(path: string, key: string, sel: HierarchySelector = {}): Promise<{ dir: string; value: string }[]> {
  const dirs = await existing(path, sel, true)
  const { existsSync } = await import('node:fs')
  const having = dirs.filter((d) => existsSync(posix.join(d.dir, key)))
  if (having.length === 0) return withTool((b) => [{ dir: dirs[0]?.dir ?? '', value: b.cgroupGet(dirs[0]?.dir ?? '', key) }])
  return withTool((b) => having.map((d) => ({ dir: d.dir, value: b.cgroupGet(d.dir, key) })))
}

/**
 * Write `value` to interface file `key` of `path` in each selected hierarchy that has it.
 * `release_agent` is refused on any hierarchy lxts did not mount itself.
 */
export async function set(path: string, key: string, value: string, sel: HierarchySelector = {}): Promise<string[]> {
  const dirs = await existing(path, sel, true)
  const { existsSync } = await import('node:fs')
  const having = dirs.filter((d) => existsSync(posix.join(d.dir, key)))
  const targets = having.length > 0 ? having : dirs.slice(0, 1)
  await withTool((b) => {
    for (const d of targets) {
      if (key === 'release_agent') b.cgroupSetReleaseAgent(d.mountPoint, value)
      else b.cgroupSet(d.dir, key, value)
    }
  })
  return targets.map((d) => d.dir)
}

/** Freeze or thaw group `path` (v1 freezer, v2 `cgroup.freeze`) and wait until it settles. */
export async function freeze(path: string, frozen: boolean, o: { timeoutMs?: number } = {}, sel: HierarchySelector = {}): Promise<void> {
  const dirs = (await existing(path, sel)).map((d) => d.dir)
  await withTool((b) => b.cgroupFreeze(dirs, frozen, o.timeoutMs ?? 5000))
}

/** Signal every process in group `path` and its children (v2 `cgroup.kill` for KILL). Returns the count. */
export async function killAll(path: string, signal: string | number = 'KILL', sel: HierarchySelector = {}): Promise<number> {
  const dirs = (await existing(path, sel)).map((d) => d.dir)
  return withTool((b) => b.cgroupKillAll(dirs, signalNumber(signal)))
}

/** Pids in group `path` and its children. */
export async function pids(path: string, sel: HierarchySelector = {}): Promise<number[]> {
  const dirs = (await existing(path, sel)).map((d) => d.dir)
  return withTool((b) => b.cgroupPidsRecursive(dirs))
}

/** How a command run with {@link exec} ended. */
export interface ExecResult {
  /** Exit code; 128+signal when killed by a signal. */
  exitCode: number
  signal: string | null
}

/**
 * Run `argv` inside group `path`: `lxts-helper cgroup-exec` joins the group, then execs the
 * command, so it and all its children start inside. Node only spawns and waits for it.
 */
export async function exec(path: string, argv: string[], o: { stdio?: 'inherit' | 'pipe' | 'ignore' } = {}, sel: HierarchySelector = {}): Promise<ExecResult> {
  if (argv.length === 0) throw new LxtsError('ERR_LXTS_USAGE', 'cgroup exec: no command given')
  const dirs = (await existing(path, sel)).map((d) => d.dir)
  const child = childProcess().spawn(helperPath(), ['cgroup-exec', ...dirs, '--', ...argv], { stdio: o.stdio ?? 'inherit' })
  return new Promise((resolve, reject) => {
    child.once('error', (e) => reject(new LxtsError('ERR_LXTS_HELPER', `cannot run lxts-helper: ${e.message}`, { cause: e })))
    child.once('exit', (code, signal) => resolve({ exitCode: code ?? 128 + (signal === null ? 0 : signalNumber(signal)), signal }))
  })
}
