/**
 * `events`: resource stats (runc's `events --stats` shape) and OOM notifications for a
 * container, as an async iterable that ends when the container stops.
 */
import { LxtsError } from '../errors.js'
import { isAlive } from './live-status.js'
import type { StateStore } from './state-store.js'
import type { ExitStatus } from './types.js'
import { resourcesNative, type NativeOomWatcher } from './update.js'

/** Memory counters in bytes (runc's `MemoryEntry`); `limit` is 2^64-1 when unlimited. */
export interface MemoryEntry {
  limit: number
  usage: number
  max: number
  failcnt: number
}

/** Resource usage of a container (runc's `types.Stats`, the parts lxts reads). */
export interface Stats {
  cpu: {
    /** Nanoseconds. */
    usage: { total: number; percpu: number[]; kernel: number; user: number }
    throttling: { periods: number; throttled_periods: number; throttled_time: number }
  }
  memory: { cache: number; usage: MemoryEntry; swap: MemoryEntry; kernel: MemoryEntry; kernelTCP: MemoryEntry; raw: Record<string, number> }
  pids: { current: number; limit: number }
  blkio: {
    ioServiceBytesRecursive: { major: number; minor: number; op: string; value: number }[]
    ioServicedRecursive: { major: number; minor: number; op: string; value: number }[]
  }
}

/** One line of `lxts events`. */
export type ContainerEvent = { type: 'stats'; id: string; data: Stats } | { type: 'oom'; id: string }

/** Options of {@link events}. */
export interface EventsOptions {
  /** Stats interval in ms (default 5000). */
  interval?: number | undefined
  /** Stop early. */
  signal?: AbortSignal | undefined
}

/** The container's current stats. */
export async function stats(store: StateStore, id: string): Promise<Stats> {
  const s = await store.read(id)
  const dirs = s.cgroups ?? []
  if (dirs.length === 0) throw new LxtsError('ERR_LXTS_CGROUP', `container "${id}" has no cgroups`)
  const n = await resourcesNative()
  return JSON.parse(n.cgroupStats(dirs)) as Stats
}

/** How long one native OOM wait may hold a pool thread. */
const OOM_SLICE_MS = 500

/**
 * Stats every `interval` and an `oom` event per OOM kill, until the container's init is
 * gone (or `signal` aborts). The first stats event comes immediately.
 */
export async function* events(store: StateStore, id: string, o: EventsOptions = {}): AsyncGenerator<ContainerEvent> {
  const interval = o.interval ?? 5000
  const s = await store.read(id)
  const dirs = s.cgroups ?? []
  // Rootless without limits: no cgroup, so no stats or OOM events to report (as stats()).
  if (dirs.length === 0) throw new LxtsError('ERR_LXTS_CGROUP', `container "${id}" has no cgroups`)
  const n = await resourcesNative()
  let watcher: NativeOomWatcher | undefined
  try {
    watcher = new n.NativeOomWatcher(dirs)
  } catch {
    watcher = undefined // no memory cgroup: stats only
  }
  const alive = async (): Promise<boolean> => s.pid !== undefined && (await isAlive(s.pid, s.startTime))
  try {
    let next = Date.now()
    while (o.signal?.aborted !== true) {
      if (Date.now() >= next) {
        if (!(await alive())) return
        yield { type: 'stats', id, data: JSON.parse(n.cgroupStats(dirs)) as Stats }
        next = Date.now() + interval
      }
      const slice = Math.max(1, Math.min(OOM_SLICE_MS, next - Date.now()))
      if (watcher !== undefined) {
        const r = await watcher.wait(slice)
        for (let i = 0; i < r.kills; i++) yield { type: 'oom', id }
        if (r.gone) return
      } else {
        await new Promise((res) => setTimeout(res, slice))
      }
      if (!(await alive())) {
        // A last look: the kill that ended the container may have just been counted.
        if (watcher !== undefined) {
          const r = await watcher.wait(1)
          for (let i = 0; i < r.kills; i++) yield { type: 'oom', id }
        }
        return
      }
    }
  } finally {
    watcher?.close()
  }
}

/** Whether the container's memory cgroup recorded an OOM kill (false when unknown). */
export async function wasOomKilled(dirs: string[]): Promise<boolean> {
  if (dirs.length === 0) return false
  const n = await resourcesNative()
  return (n.cgroupOomKills(dirs) ?? 0) > 0
}

/** `exit` with `oomKilled: true` when it was a SIGKILL and the memory cgroup recorded an OOM kill. */
export async function withOomKilled(exit: ExitStatus, dirs: string[] | undefined): Promise<ExitStatus> {
  if (exit.oomKilled === true || (exit.signal !== 9 && exit.exitCode !== 137)) return exit
  const oom = await wasOomKilled(dirs ?? []).catch(() => false)
  return oom ? { ...exit, oomKilled: true } : exit
}
