/**
 * The cgroup tool's part of the native binding (crates/lxts-node/src/cgroup_tool.rs), loaded
 * through the shared lazy loader; every native failure is rethrown as an LxtsError.
 */
import { LxtsError, fromNative } from '../errors.js'
import { loadNative } from '../native.js'

/** One controller, named hierarchy (`name=…`) or `cgroup2`. */
export interface Subsystem {
  name: string
  /** Hierarchy id (`/proc/cgroups`); 0 for cgroup2 and unattached controllers. */
  hierarchy: number
  numCgroups: number
  enabled: boolean
  /** Where it is mounted; empty when nowhere. */
  mountPoints: string[]
}

/** One interface file of a group and its value. */
export interface CgroupFile {
  name: string
  value: string
}

/** What a group directory holds. */
export interface GroupInfo {
  dir: string
  procs: number[]
  threads: number[]
  children: string[]
  files: CgroupFile[]
}

/** The native surface used here. */
export interface CgroupToolBinding {
  cgroupFreeze(dirs: string[], frozen: boolean, timeoutMs: number): Promise<void>
  cgroupFrozen(dirs: string[]): boolean | null
  cgroupKillAll(dirs: string[], signal: number): Promise<number>
  cgroupPidsRecursive(dirs: string[]): number[]
  cgroupSubsystems(): Subsystem[]
  cgroupMount(dir: string, controllers: string[], name?: string | null): void
  cgroupUmount(dir: string): void
  cgroupIsOwned(mountPoint: string): boolean
  cgroupCreate(path: string, mountPoints: string[]): string[]
  cgroupDelete(dir: string, recursive: boolean): void
  cgroupAttach(dir: string, pid: number, thread: boolean, makeThreaded: boolean): void
  cgroupShow(dir: string): GroupInfo
  cgroupGet(dir: string, key: string): string
  cgroupSet(dir: string, key: string, value: string): void
  cgroupSetReleaseAgent(mountPoint: string, program: string): void
  cgroupWaitOom(dir: string, timeoutMs: number): Promise<boolean>
}

/**
 * Call `fn` with the binding; sync throws and async rejections both become LxtsError.
 * A binding built before these exports existed gives ERR_LXTS_NATIVE_UNAVAILABLE.
 */
export async function withTool<T>(fn: (b: CgroupToolBinding) => T | Promise<T>): Promise<T> {
  const b = (await loadNative()) as unknown as Partial<CgroupToolBinding>
  if (typeof b.cgroupFreeze !== 'function') {
    throw new LxtsError('ERR_LXTS_NATIVE_UNAVAILABLE', 'the native binding has no cgroup tool exports (run `npm run build:native`)')
  }
  try {
    return await fn(b as CgroupToolBinding)
  } catch (err) {
    throw fromNative(err)
  }
}
