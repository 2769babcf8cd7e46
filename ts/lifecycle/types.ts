/** Public shapes of container state. */
import type { ContainerStatus } from './status.js'

/** How a container's process ended. `signal` is set when it was killed by a signal. */
export interface ExitStatus {
  /** Exit code; 128+signal when killed by a signal; -1 when unknown. */
  exitCode: number
  signal: number | null
  /** True when the memory cgroup's OOM killer fired while it ran (recorded by a monitor). */
  oomKilled?: boolean
}

/** OCI state (runc's superset), as `lxts state` prints it. */
export interface ContainerState {
  ociVersion: string
  id: string
  status: ContainerStatus
  /** The init's pid (host namespace), while created or running. */
  pid?: number
  /** Absolute bundle path. */
  bundle: string
  /** Absolute root filesystem path. */
  rootfs: string
  /** Creation time, RFC 3339. */
  created: string
  /** User that created it. */
  owner: string
  annotations?: Record<string, string>
  /** How it ended, when known (stopped containers run by a monitor). */
  exitStatus?: ExitStatus
}

/** What lxts persists in `<root>/<id>/state.json`: the OCI state plus bookkeeping. */
export interface StoredState extends Omit<ContainerState, 'exitStatus'> {
  /** `/proc/<pid>/stat` start time of the init, to tell a reused pid apart. */
  startTime?: number
  /** The planned cgroup path (`/lxts/c1`), recorded before the helper runs. */
  cgroupPath?: string
  /** Cgroup directories the helper created (absolute host paths). */
  cgroups?: string[]
  /** The cgroup directories lxts created for this container (parents first); only these are removed. */
  createdCgroups?: string[]
  /** Pid of the monitoring helper, when the container runs in monitor mode. */
  monitorPid?: number
  /** Start time of the monitoring helper. */
  monitorStartTime?: number
  /** Pid of the lxts process that is creating it (status `creating`). */
  creatorPid?: number
}
