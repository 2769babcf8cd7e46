/** `lxts list [--format table|json] [--quiet]` */
import type { CommandModule } from 'yargs'
import type { CliContext } from '../context.js'
import type { GlobalArgs } from '../global-options.js'
import type { ContainerState } from '../library.js'
import { formatJson, formatTable } from '../output.js'
import { openRuntime } from './runtime.js'

/** The formats `list` prints. */
export const LIST_FORMATS = ['table', 'json'] as const

/** Arguments of `list`. */
export interface ListArgs extends GlobalArgs {
  format: (typeof LIST_FORMATS)[number]
  quiet: boolean
}

/** The table runc prints: ID PID STATUS BUNDLE CREATED OWNER (PID 0 once stopped). */
export function listTable(states: readonly ContainerState[]): string {
  const rows = states.map((state) => [
    state.id,
    String(state.status === 'stopped' ? 0 : (state.pid ?? 0)),
    state.status,
    state.bundle,
    state.created,
    state.owner,
  ])
  return formatTable(['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], rows)
}

/** What `list` prints for these states. JSON is always an array (runc prints `null` for none). */
export function formatList(states: readonly ContainerState[], argv: Pick<ListArgs, 'format' | 'quiet'>): string {
  if (argv.quiet) return states.map((state) => `${state.id}\n`).join('')
  return argv.format === 'json' ? formatJson(states) : listTable(states)
}

/** The `list` verb. */
export function listCommand(ctx: CliContext): CommandModule<GlobalArgs, ListArgs> {
  return {
    command: ['list', 'ls'],
    describe: 'list the containers under --root',
    builder: (parser) =>
      parser
        .option('format', { alias: 'f', choices: LIST_FORMATS, default: 'table' as const, describe: 'output format' })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print only the ids' }),
    handler: async (argv) => {
      const runtime = await openRuntime(ctx, argv)
      const states = await runtime.list()
      ctx.out(formatList(states, argv))
    },
  }
}
