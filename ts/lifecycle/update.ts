/**
 * `update`: apply new `linux.resources` to a live container's cgroups and merge them into
 * the saved config. Also the native calls behind stats and OOM accounting (typed here so
 * the shared `native.ts` surface stays small).
 */

import type { OciResources } from '../config/types.js'
import { validateResources } from '../config/validate.js'
import { LxtsError, errnoCode, fromNative } from '../errors.js'
import { loadNative } from '../native.js'
import { liveStatus } from './live-status.js'
import { withLock } from './lock.js'
import type { StateStore } from './state-store.js'
import { fsPromises } from '../lazy-builtins.js'

/** One OOM wait's result. */
export interface NativeOomWait {
  kills: number
  gone: boolean
}

/** The native OOM watcher (see crates/lxts-node/src/resources.rs). */
export interface NativeOomWatcher {
  wait(timeoutMs: number): Promise<NativeOomWait>
  close(): void
}

interface ResourcesBinding {
  cgroupApplyResources(dirs: string[], resourcesJson: string): string[]
  cgroupStats(dirs: string[]): string
  cgroupOomKills(dirs: string[]): number | null
  NativeOomWatcher: new (dirs: string[]) => NativeOomWatcher
}

/** The resource part of the native binding. */
export async function resourcesNative(): Promise<ResourcesBinding> {
  const n = (await loadNative()) as unknown as Partial<ResourcesBinding>
  if (typeof n.cgroupApplyResources !== 'function' || n.NativeOomWatcher === undefined) {
    throw new LxtsError('ERR_LXTS_NATIVE_UNAVAILABLE', 'the native binding has no resource support (run `npm run build:native`)')
  }
  const b = n as ResourcesBinding
  const wrap =
    <A extends unknown[], R>(f: (...a: A) => R) =>
    (...a: A): R => {
      try {
        return f(...a)
      } catch (err) {
        throw fromNative(err)
      }
    }
  return {
    cgroupApplyResources: wrap(b.cgroupApplyResources.bind(b)),
    cgroupStats: wrap(b.cgroupStats.bind(b)),
    cgroupOomKills: wrap(b.cgroupOomKills.bind(b)),
    NativeOomWatcher: b.NativeOomWatcher,
  }
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** `patch` over `base`: sections merge field by field; arrays and scalars replace. */
export function mergeResources(base: OciResources | undefined, patch: OciResources): OciResources {
  const out: Obj = { ...(base ?? {}) }
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue
    const cur = out[k]
    out[k] = isObj(v) && isObj(cur) ? { ...cur, ...v } : v
  }
  return out as OciResources
}

/** Throw the issues of a resources object as one ERR_LXTS_INVALID_CONFIG. */
export function assertValidResources(r: unknown): OciResources {
  const issues = validateResources(r)
  if (issues.length === 0) return r as OciResources
  const text = issues.map((i) => `${i.field}: ${i.message}`).join('; ')
  throw new LxtsError(issues[0]?.code ?? 'ERR_LXTS_INVALID_CONFIG', `invalid resources: ${text}`, { issues })
}

/**
 * Apply `resources` to container `id` (created or running) and merge them into its saved
 * `config.json`. Returns the kernel's caveats (ignored settings) as warnings.
 */
export async function updateContainer(store: StateStore, id: string, resources: OciResources): Promise<string[]> {
  assertValidResources(resources)
  const n = await resourcesNative()
  return withLock(store, id, async () => {
    const s = await store.read(id)
    const status = await liveStatus(store, s)
    if (status !== 'created' && status !== 'running') {
      throw new LxtsError('ERR_LXTS_INVALID_STATE', `container "${id}" is ${status}; update needs a created or running container`)
    }
    const dirs = s.cgroups ?? []
    if (dirs.length === 0) throw new LxtsError('ERR_LXTS_CGROUP', `container "${id}" has no cgroups to update`)
    const warnings = n.cgroupApplyResources(dirs, JSON.stringify(resources))
    const file = store.file(id, 'config.json')
    const text = await fsPromises().readFile(file, 'utf8').catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return undefined
      throw err
    })
    if (text !== undefined) {
      const config = JSON.parse(text) as { linux?: { resources?: OciResources } }
      config.linux = { ...(config.linux ?? {}), resources: mergeResources(config.linux?.resources, resources) }
      await store.writeConfig(id, config)
    }
    return warnings
  })
}
