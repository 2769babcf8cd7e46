/**
 * `delete --force` of a container whose `state.json` cannot be read (cut short, garbage,
 * missing): the state no longer says which process is the init nor which cgroups exist, so
 * both are recovered from what else lxts knows about the id:
 *
 * - the cgroup path: `linux.cgroupsPath` of the saved `<root>/<id>/config.json` (the
 *   normalized config create wrote), else the default `/lxts/<id>`, placed under every
 *   mounted hierarchy exactly as create placed it;
 * - the processes: every pid in those groups, and the init a container without cgroups
 *   (rootless) recorded in `<root>/<id>/init` (`pid startTime`, checked through a pidfd; its
 *   pid namespace dies with it). Membership is what proves that a pid is the
 *   container's, so each is signalled through a pidfd with a start time read now (`killAll`:
 *   freeze, scan, pidfd per pid, thaw), which also kills the init without its recorded start time;
 * - the monitor (`run -d`): a parent of a killed process that is an lxts helper (its
 *   `/proc/<pid>/comm` is the `lxts-helper` it names itself) is waited for, so it cannot write
 *   `exit.json` into a directory being removed.
 *
 * Only the container's own leaf groups are removed (with the child groups a process inside
 * made); the default parent `/lxts` goes only when empty. A container without a mount namespace
 * has its rootfs mount detached from `<root>/<id>/root-mount` (the helper's record, not
 * state.json). Then the state directory goes.
 */

import { cgroupPath, wantsLimits } from '../config/plan.js'
import type { OciConfig } from '../config/types.js'
import { withTool } from '../cgroup/native.js'
import { cgroupRemove, processInfo, releaseRootMount, waitProcessExit } from '../native.js'
import { killAndWait, plannedCgroups, removableCgroups } from './container.js'
import { killAll } from './pause.js'
import { isRootless, type StateStore } from './state-store.js'
import { fsPromises } from '../lazy-builtins.js'

const SIGKILL = 9
/** How long each killed process (and a monitor) may take to go. */
const EXIT_TIMEOUT_MS = 10_000
const MONITOR_TIMEOUT_MS = 2000
/** Rounds of scan + kill: a process forked between two scans is caught by the next. */
const ROUNDS = 5

/** The saved `config.json`, or undefined when absent or unreadable. */
async function savedConfig(file: string): Promise<OciConfig | undefined> {
  try {
    const c = JSON.parse(await fsPromises().readFile(file, 'utf8')) as OciConfig | null
    return typeof c === 'object' && c !== null ? c : undefined
  } catch {
    return undefined
  }
}

/** The cgroup path create used: `linux.cgroupsPath` of the saved config, else the default. */
function recoveredPath(saved: OciConfig | undefined, id: string): string {
  const p = saved?.linux?.cgroupsPath
  try {
    return cgroupPath(typeof p === 'string' ? p : undefined, id)
  } catch {
    return cgroupPath(undefined, id)
  }
}

/** The parent pid of `pid` (field 4 of `/proc/<pid>/stat`), or undefined when it is gone. */
async function parentOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await fsPromises().readFile(`/proc/${pid}/stat`, 'utf8')
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    return Number.isInteger(ppid) && ppid > 1 ? ppid : undefined
  } catch {
    return undefined
  }
}

/**
 * Whether `pid` is an lxts helper (a monitor), not some engine's shim: named `lxts-helper`
 * (it runs from a sealed image, `/proc/self/fd/N` to the kernel, and names itself).
 */
export async function isHelper(pid: number): Promise<boolean> {
  const comm = await fsPromises().readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')
  return comm === 'lxts-helper\n'
}

/** Kill everything in `dirs` and wait for it to go; returns the monitors (pid, start time) seen. */
async function killMembers(dirs: string[]): Promise<Map<number, number>> {
  const monitors = new Map<number, number>()
  for (let round = 0; round < ROUNDS; round++) {
    const pids = await withTool((b) => b.cgroupPidsRecursive(dirs))
    if (pids.length === 0) break
    const members = new Set(pids)
    const seen: { pid: number; startTime: number }[] = []
    for (const pid of pids) {
      const info = await processInfo(pid)
      if (info !== null) seen.push({ pid, startTime: info.startTime })
      if (!members.has((await parentOf(pid)) ?? 0)) await noteMonitor(pid, monitors)
    }
    await killAll(dirs, SIGKILL)
    for (const p of seen) await waitProcessExit(p.pid, p.startTime, EXIT_TIMEOUT_MS).catch(() => false)
  }
  return monitors
}

/** When `pid`'s parent is an lxts monitor, note it (pid, start time) in `monitors`, to be waited for. */
async function noteMonitor(pid: number, monitors: Map<number, number>): Promise<void> {
  const parent = await parentOf(pid)
  if (parent === undefined || monitors.has(parent) || !(await isHelper(parent))) return
  const p = await processInfo(parent)
  if (p !== null) monitors.set(parent, p.startTime)
}

/** The init a container without cgroups recorded in `<dir>/init` (`pid startTime`). */
export async function recordedInit(dir: string): Promise<{ pid: number; startTime: number } | undefined> {
  const text = await fsPromises().readFile(`${dir}/init`, 'utf8').catch(() => '')
  const [pid, startTime] = text.trim().split(' ').map(Number)
  return Number.isInteger(pid) && (pid as number) > 0 && Number.isInteger(startTime) ? { pid: pid as number, startTime: startTime as number } : undefined
}

/** Force-delete `id` without its state: kill the cgroups' processes, remove the groups and the state dir. */
export async function recoverDelete(store: StateStore, id: string): Promise<void> {
  const saved = await savedConfig(store.file(id, 'config.json'))
  const path = recoveredPath(saved, id)
  // Rootless, a container made no cgroup unless its config asked for limits: root's groups of
  // the same path are none of its business.
  const leaves = isRootless() && !(saved !== undefined && wantsLimits(saved)) ? [] : await plannedCgroups(path)
  const monitors = await killMembers(leaves)
  // Without cgroups (rootless) the init recorded apart from state.json is the way to it.
  const init = await recordedInit(store.dir(id))
  if (init !== undefined) {
    await noteMonitor(init.pid, monitors)
    await killAndWait(init.pid, init.startTime, `container "${id}" init`)
  }
  for (const [pid, startTime] of monitors) await waitProcessExit(pid, startTime, MONITOR_TIMEOUT_MS).catch(() => false)
  // `root-mount` is written by the helper, apart from state.json: it survives a corrupt state.
  await releaseRootMount(store.dir(id)).catch((err: unknown) => process.emitWarning((err as Error).message, { code: 'ERR_LXTS_MOUNT' }))
  if (leaves.length > 0) await cgroupRemove(removableCgroups(id, path, leaves))
  await store.remove(id)
}
