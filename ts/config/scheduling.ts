/**
 * The names runtime-spec defines for `process.scheduler`, `process.ioPriority` and
 * `linux.memoryPolicy`, which the helper maps to sched_setattr(2), ioprio_set(2) and
 * set_mempolicy(2) values (crates/lxts-core/src/container/sched.rs, mempolicy.rs). `features`
 * reports the memory policy ones.
 */

/** `process.scheduler.policy`. */
export const SCHED_POLICIES: readonly string[] = ['SCHED_OTHER', 'SCHED_FIFO', 'SCHED_RR', 'SCHED_BATCH', 'SCHED_ISO', 'SCHED_IDLE', 'SCHED_DEADLINE']

/** `process.scheduler.flags[]`. */
export const SCHED_FLAGS: readonly string[] = [
  'SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_RECLAIM', 'SCHED_FLAG_DL_OVERRUN', 'SCHED_FLAG_KEEP_POLICY',
  'SCHED_FLAG_KEEP_PARAMS', 'SCHED_FLAG_UTIL_CLAMP_MIN', 'SCHED_FLAG_UTIL_CLAMP_MAX',
]

/** `process.ioPriority.class`. */
export const IOPRIO_CLASSES: readonly string[] = ['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE']

/** `linux.memoryPolicy.mode`. */
export const MPOL_MODES: readonly string[] = [
  'MPOL_DEFAULT', 'MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_WEIGHTED_INTERLEAVE', 'MPOL_PREFERRED', 'MPOL_PREFERRED_MANY', 'MPOL_LOCAL',
]

/** `linux.memoryPolicy.flags[]`. */
export const MPOL_FLAGS: readonly string[] = ['MPOL_F_NUMA_BALANCING', 'MPOL_F_RELATIVE_NODES', 'MPOL_F_STATIC_NODES']
