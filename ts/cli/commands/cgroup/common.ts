/** What every `lxts cgroup …` subcommand shares: the hierarchy selector and the lazily loaded API. */
import type { Argv } from 'yargs'
import type { GlobalArgs } from '../../global-options.js'

/** The library's cgroup API (loaded on first use, like the rest of the library). */
export type CgroupApi = typeof import('../../../cgroup/index.js')

/** Load the cgroup API. */
export async function cgroupApi(): Promise<CgroupApi> {
  return import('../../../cgroup/index.js')
}

/** `-H/--hierarchy` and `-c/--controllers`. */
export interface SelectorArgs extends GlobalArgs {
  hierarchy: string | undefined
  controllers: string | undefined
}

/** Add the hierarchy selector options. */
export function withSelector<T extends GlobalArgs>(p: Argv<T>): Argv<T & SelectorArgs> {
  return p
    .option('hierarchy', { alias: 'H', type: 'string', describe: 'one hierarchy: its mount point, or a controller (memory, name=x, cgroup2)' })
    .option('controllers', { alias: 'c', type: 'string', describe: 'hierarchies carrying any of these controllers (comma-separated)' })
}

/** The selector the library takes. */
export function selector(a: SelectorArgs): { hierarchy?: string; controllers?: string[] } {
  const out: { hierarchy?: string; controllers?: string[] } = {}
  if (a.hierarchy !== undefined) out.hierarchy = a.hierarchy
  if (a.controllers !== undefined) out.controllers = a.controllers.split(',').filter((c) => c !== '')
  return out
}
