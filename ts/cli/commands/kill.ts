/** `lxts kill [--all] ID [SIGNAL]` (also `--signal/-s SIGNAL`, the runtime-tools form) */
import type { CommandModule } from 'yargs'
import type { CliContext } from '../context.js'
import type { GlobalArgs } from '../global-options.js'
import { openRuntime } from './runtime.js'

/** Arguments of `kill`. */
export interface KillArgs extends GlobalArgs {
  id: string
  signal: string
  all: boolean
}

/** A signal as the library takes it: a number when all digits, else a name (`TERM`, `SIGKILL`). */
export function parseSignal(text: string): string | number {
  return /^\d+$/.test(text) ? Number(text) : text
}

/** The `kill` verb: signals the container's init (with `--all`, every process in it). */
export function killCommand(ctx: CliContext): CommandModule<GlobalArgs, KillArgs> {
  return {
    command: 'kill <id> [signal]',
    describe: 'send a signal (name or number, default TERM) to a container',
    builder: (parser) =>
      parser
        .positional('id', { type: 'string', demandOption: true, describe: 'container id' })
        .positional('signal', {
          alias: 's',
          type: 'string',
          default: 'TERM',
          describe: 'signal name (TERM, SIGKILL) or number; also accepted as --signal/-s',
        })
        .option('all', { alias: 'a', type: 'boolean', default: false, describe: 'signal every process of the container' }),
    handler: async (argv) => {
      const signal = parseSignal(argv.signal)
      const runtime = await openRuntime(ctx, argv)
      const container = await runtime.get(argv.id)
      await container.kill(signal, { all: argv.all })
    },
  }
}
