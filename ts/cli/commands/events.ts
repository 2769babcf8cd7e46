/** `lxts events [--stats] [--interval 5s] ID`: JSON lines as runc prints them. */
import type { CommandModule } from 'yargs'
import { CliError } from '../cli-error.js'
import type { CliContext } from '../context.js'
import type { GlobalArgs } from '../global-options.js'
import { openRuntime } from './runtime.js'
import { withResources } from './update.js'

/** Arguments of `events`. */
export interface EventsArgs extends GlobalArgs {
  id: string
  stats: boolean
  interval: string
}

/** A Go duration as runc takes it (`5s`, `500ms`, `1m`, `1m30s`) in ms. */
export function parseDuration(text: string): number {
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy
  let ms = 0
  let end = 0
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    ms += Number(m[1]) * (unit[m[2] ?? 's'] ?? 1000)
    end = re.lastIndex
  }
  if (end === 0 || end !== text.length || ms <= 0) throw new CliError('ERR_LXTS_USAGE', `--interval: "${text}" is not a positive duration (like 5s or 500ms)`)
  return ms
}

/** The `events` verb. */
export function eventsCommand(ctx: CliContext): CommandModule<GlobalArgs, EventsArgs> {
  return {
    command: 'events <id>',
    describe: 'print container events (stats and OOM kills) as JSON lines',
    builder: (parser) =>
      parser
        .positional('id', { type: 'string', demandOption: true, describe: 'container id' })
        .option('stats', { type: 'boolean', default: false, describe: 'print the stats once and exit' })
        .option('interval', { type: 'string', default: '5s', describe: 'stats interval' }),
    handler: async (argv) => {
      const interval = parseDuration(argv.interval)
      const runtime = await openRuntime(ctx, argv)
      const container = withResources(await runtime.get(argv.id))
      if (argv.stats) {
        ctx.out(`${JSON.stringify({ type: 'stats', id: argv.id, data: await container.stats() })}\n`)
        return
      }
      for await (const ev of container.events({ interval })) ctx.out(`${JSON.stringify(ev)}\n`)
    },
  }
}
