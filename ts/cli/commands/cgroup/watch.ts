/** `lxts cgroup watch PATH`: JSON lines of populated / release / oom events. */
import type { CommandModule } from 'yargs'
import type { CliContext } from '../../context.js'
import type { GlobalArgs } from '../../global-options.js'
import { cgroupApi, selector, withSelector, type SelectorArgs } from './common.js'

interface WatchArgs extends SelectorArgs {
  path: string
  count: number | undefined
  timeout: number | undefined
  oom: boolean
}

/** `cgroup watch PATH [--count N] [--timeout MS] [--oom]`; stops on SIGINT/SIGTERM too. */
export function watchCommand(ctx: CliContext): CommandModule<GlobalArgs, WatchArgs> {
  return {
    command: 'watch <path>',
    describe: 'print events as JSON lines: v2 populated, v1 release (lxts-mounted hierarchies only), v1 OOM',
    builder: (p) =>
      withSelector(p)
        .positional('path', { type: 'string', demandOption: true })
        .option('count', { type: 'number', describe: 'exit after this many events' })
        .option('timeout', { type: 'number', describe: 'exit after this many milliseconds' })
        .option('oom', { type: 'boolean', default: false, describe: 'also report v1 memory OOM events' }),
    handler: async (argv) => {
      const ac = new AbortController()
      const stop = (): void => ac.abort()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      const timer = argv.timeout === undefined ? undefined : setTimeout(stop, argv.timeout)
      let n = 0
      try {
        for await (const ev of (await cgroupApi()).watch(argv.path, { signal: ac.signal, oom: argv.oom }, selector(argv))) {
          ctx.out(`${JSON.stringify(ev)}\n`)
          if (argv.count !== undefined && ++n >= argv.count) break
        }
      } finally {
        clearTimeout(timer)
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
      }
    },
  }
}
