/**
 * The status a container is really in: `state.json` says what lxts last did, the kernel
 * says whether the init still lives. A pid that is gone, a zombie, or has a different
 * start time (reused) means `stopped`; `created` vs `running` is whether `exec.fifo` exists;
 * a running container whose cgroups are frozen is `paused`.
 */
import { existsSync } from 'node:fs'

import { withTool } from '../cgroup/native.js'
import { processInfo } from '../native.js'
import type { StateStore } from './state-store.js'
import type { ContainerStatus } from './status.js'
import type { ContainerState, StoredState } from './types.js'

/** Whether the process recorded as (pid, startTime) is still alive (zombies count as dead). */
export async function isAlive(pid: number, startTime: number | undefined): Promise<boolean> {
  const info = await processInfo(pid)
  if (info === null || info.state === 'Z' || info.state === 'X') return false
  return startTime === undefined || info.startTime === startTime
}

/** The live status of a stored state. */
export async function liveStatus(store: StateStore, s: StoredState): Promise<ContainerStatus> {
  if (s.status === 'creating' || s.status === 'stopped') return s.status
  if (s.pid === undefined || !(await isAlive(s.pid, s.startTime))) return 'stopped'
  // Sync, as the state store: a local path, no thread-pool hop and no exception when absent.
  if (existsSync(store.file(s.id, 'exec.fifo'))) return 'created'
  return (await frozen(s.cgroups)) ? 'paused' : 'running'
}

/** Whether the container's cgroups are frozen (v1 `FROZEN`, v2 `cgroup.freeze` 1); false without a freezer. */
async function frozen(dirs: string[] | undefined): Promise<boolean> {
  if (dirs === undefined || dirs.length === 0) return false
  return (await withTool((b) => b.cgroupFrozen(dirs))) === true
}

/** The public OCI state of a stored state, with its live status and exit status when known. */
export async function liveState(store: StateStore, s: StoredState): Promise<ContainerState> {
  const status = await liveStatus(store, s)
  const out: ContainerState = {
    ociVersion: s.ociVersion,
    id: s.id,
    status,
    bundle: s.bundle,
    rootfs: s.rootfs,
    created: s.created,
    owner: s.owner,
  }
  if (s.pid !== undefined && (status === 'created' || status === 'running' || status === 'paused')) out.pid = s.pid
  if (s.annotations !== undefined) out.annotations = s.annotations
  if (status === 'stopped') {
    const exit = await store.readExit(s.id)
    if (exit !== undefined) out.exitStatus = exit
  }
  return out
}
