/**
 * The cgroup primitives (`lxts cgroup …`) as typed async functions. Errors are LxtsError
 * (`ERR_LXTS_CGROUP`, `ERR_LXTS_USAGE`, `ERR_LXTS_MOUNT`, …).
 *
 * ```ts
 * import { cgroups } from 'lxts'
 * await cgroups.create('/lxts-demo/a', { hierarchy: 'cgroup2' })
 * await cgroups.exec('/lxts-demo/a', ['sleep', '1'], {}, { hierarchy: 'cgroup2' })
 * ```
 */
export {
  attach,
  checkPath,
  create,
  exec,
  existing,
  freeze,
  get,
  hierarchies,
  isOwned,
  killAll,
  mount,
  pids,
  remove,
  remove as delete,
  resolve,
  set,
  show,
  subsystems,
  umount,
  type CgroupFile,
  type ExecResult,
  type GroupDir,
  type GroupInfo,
  type HierarchySelector,
  type Subsystem,
} from './groups.js'
export { watch, type CgroupEvent, type WatchOptions } from './watch.js'
