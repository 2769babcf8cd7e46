/** `lxts update [--resources FILE|-] [--memory N] … ID` (runc's flags) */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { CommandModule } from 'yargs'
import { CliError } from '../cli-error.js'
import type { CliContext } from '../context.js'
import type { GlobalArgs } from '../global-options.js'
import type { CliContainer } from '../library.js'
import { openRuntime } from './runtime.js'

type Obj = Record<string, unknown>

/** A container with the resource methods (the library's `Container`). */
export interface ResourceContainer extends CliContainer {
  update(resources: Obj): Promise<string[]>
  stats(): Promise<unknown>
  events(o: { interval?: number }): AsyncIterable<unknown>
}

/** Narrow a CLI container to one with resource methods. */
export function withResources(c: CliContainer): ResourceContainer {
  const r = c as Partial<ResourceContainer>
  if (typeof r.update !== 'function' || typeof r.stats !== 'function' || typeof r.events !== 'function') {
    throw new CliError('ERR_LXTS_UNSUPPORTED', 'this lxts library has no resource support')
  }
  return c as ResourceContainer
}

/** runc's byte sizes: `1024`, `32m`, `1g`, `512KiB`, `-1`. */
export function parseBytes(flag: string, text: string): number {
  const m = /^(-?\d+)\s*([kmgtp]?)(i?b)?$/i.exec(text.trim())
  if (m === null) throw new CliError('ERR_LXTS_USAGE', `--${flag}: "${text}" is not a size (like 32m or 1g)`)
  const n = Number(m[1])
  const pow = ' kmgtp'.indexOf((m[2] ?? '').toLowerCase() || ' ')
  return n < 0 ? -1 : n * 1024 ** pow
}

function parseInt10(flag: string, text: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new CliError('ERR_LXTS_USAGE', `--${flag}: "${text}" is not an integer`)
  return Number(text)
}

/** Arguments of `update`. */
export interface UpdateArgs extends GlobalArgs {
  id: string
  resources?: string
  [flag: string]: unknown
}

/** Flag → [section, field, parser]. */
const FLAGS: [string, string, string, 'bytes' | 'int' | 'string'][] = [
  ['memory', 'memory', 'limit', 'bytes'],
  ['memory-reservation', 'memory', 'reservation', 'bytes'],
  ['memory-swap', 'memory', 'swap', 'bytes'],
  ['kernel-memory', 'memory', 'kernel', 'bytes'],
  ['kernel-memory-tcp', 'memory', 'kernelTCP', 'bytes'],
  ['cpu-shares', 'cpu', 'shares', 'int'],
  ['cpu-quota', 'cpu', 'quota', 'int'],
  ['cpu-period', 'cpu', 'period', 'int'],
  ['cpu-rt-runtime', 'cpu', 'realtimeRuntime', 'int'],
  ['cpu-rt-period', 'cpu', 'realtimePeriod', 'int'],
  ['cpu-idle', 'cpu', 'idle', 'int'],
  ['cpuset-cpus', 'cpu', 'cpus', 'string'],
  ['cpuset-mems', 'cpu', 'mems', 'string'],
  ['pids-limit', 'pids', 'limit', 'int'],
  ['blkio-weight', 'blockIO', 'weight', 'int'],
]

/** The resources `update` applies: `--resources` JSON (file or `-` for stdin), then the flags on top. */
export function resourcesFromArgs(argv: UpdateArgs, cwd: string, readStdin: () => string): Obj {
  let res: Obj = {}
  if (argv.resources !== undefined) {
    const stdin = argv.resources === '-' || argv.resources === ''
    const text = stdin ? readStdin() : readFileSync(resolve(cwd, argv.resources), 'utf8')
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (err) {
      throw new CliError('ERR_LXTS_USAGE', `--resources: not JSON: ${(err as Error).message}`)
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliError('ERR_LXTS_USAGE', '--resources: must be a JSON object (LinuxResources)')
    res = parsed as Obj
  }
  for (const [flag, sect, field, kind] of FLAGS) {
    const v = argv[flag]
    if (v === undefined) continue
    const text = String(v)
    const value = kind === 'bytes' ? parseBytes(flag, text) : kind === 'int' ? parseInt10(flag, text) : text
    res[sect] = { ...((res[sect] as Obj | undefined) ?? {}), [field]: value }
  }
  return res
}

/** The `update` verb: new limits for a created or running container. */
export function updateCommand(ctx: CliContext): CommandModule<GlobalArgs, UpdateArgs> {
  return {
    command: 'update <id>',
    describe: 'update the resource limits of a container',
    builder: (parser) => {
      let p = parser
        .positional('id', { type: 'string', demandOption: true, describe: 'container id' })
        .option('resources', { alias: 'r', type: 'string', describe: 'LinuxResources JSON file, or - for stdin' })
      for (const [flag] of FLAGS) p = p.option(flag, { type: 'string', describe: `set ${flag.replace(/-/g, ' ')}` })
      return p as never
    },
    handler: async (argv) => {
      const id = argv.id
      const resources = resourcesFromArgs(argv, ctx.cwd, () => readFileSync(0, 'utf8'))
      const runtime = await openRuntime(ctx, argv)
      const container = withResources(await runtime.get(id))
      for (const w of await container.update(resources)) ctx.err(`lxts: warning: ${w}\n`)
    },
  }
}
