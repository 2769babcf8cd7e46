/**
 * Pause and resume (the cgroup freezer), `ps` (the container's pids) and `kill --all`, over
 * the cgroup directories recorded in a container's state.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

import { LxtsError } from '../errors.js'
import { withTool } from '../cgroup/native.js'
import { liveStatus } from './live-status.js'
import { withLock } from './lock.js'
import type { StateStore } from './state-store.js'
import { assertCan } from './status.js'
import type { StoredState } from './types.js'

/** How long a freeze or thaw may take to settle. */
const FREEZE_TIMEOUT_MS = 5000

function dirsOf(s: StoredState): string[] {
  const dirs = s.cgroups ?? []
  if (dirs.length === 0) throw new LxtsError('ERR_LXTS_CGROUP', `container "${s.id}" has no cgroups recorded`)
  return dirs
}

/** Freeze every process of a running container. */
export async function pauseContainer(store: StateStore, id: string): Promise<void> {
  await withLock(store, id, async () => {
    const s = await store.read(id)
    assertCan('pause', await liveStatus(store, s), id)
    const dirs = dirsOf(s)
    await withTool((b) => b.cgroupFreeze(dirs, true, FREEZE_TIMEOUT_MS))
  })
}

/** Thaw a paused container. */
export async function resumeContainer(store: StateStore, id: string): Promise<void> {
  await withLock(store, id, async () => {
    const s = await store.read(id)
    assertCan('resume', await liveStatus(store, s), id)
    const dirs = dirsOf(s)
    await withTool((b) => b.cgroupFreeze(dirs, false, FREEZE_TIMEOUT_MS))
  })
}

/** Every pid in the container's cgroups (and their child groups), sorted; see {@link pidNamespaceMembers} without cgroups. */
export async function containerPids(s: StoredState): Promise<number[]> {
  const dirs = s.cgroups ?? []
  if (dirs.length === 0) return s.pid === undefined ? [] : pidNamespaceMembers(s.pid)
  return withTool((b) => b.cgroupPidsRecursive(dirs))
}

/**
 * Without cgroups (rootless): the processes in the init's pid namespace when it is that
 * namespace's own init (pid 1 there: the container's namespace, not a joined one that other
 * containers share), else the init alone. Namespace links of processes we may not inspect
 * read as no match.
 */
export function pidNamespaceMembers(init: number): number[] {
  const ns = (pid: number | string): string | undefined => {
    try {
      return readlinkSync(`/proc/${pid}/ns/pid`)
    } catch {
      return undefined
    }
  }
  const theirs = ns(init)
  if (theirs === undefined) return []
  let nspid: string | undefined
  try {
    nspid = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${init}/status`, 'utf8'))?.[1]?.trim().split(/\s+/).pop()
  } catch {
    return []
  }
  if (theirs === ns('self') || nspid !== '1') return [init]
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n) && ns(n) === theirs)
    .map(Number)
    .sort((a, b) => a - b)
}

/**
 * Signal every process in `dirs`: v2 `cgroup.kill` for SIGKILL when there is one, else freeze,
 * signal each pid through a pidfd, thaw. A frozen group killed with SIGKILL is thawed so the
 * processes die. Returns how many were signalled.
 */
export async function killAll(dirs: string[], signal: number): Promise<number> {
  if (dirs.length === 0) return 0
  return withTool((b) => b.cgroupKillAll(dirs, signal))
}
