/** `lxts wait [--format text|json] ID` */
import type { CommandModule } from 'yargs'
import type { CliContext } from '../context.js'
import { containerExitCode } from '../exit-codes.js'
import type { GlobalArgs } from '../global-options.js'
import { openRuntime } from './runtime.js'

/** Arguments of `wait`. */
export interface WaitArgs extends GlobalArgs {
  id: string
  format: 'text' | 'json'
}

/** What `wait` exits with when nobody recorded the status (a container made by `create`). */
export const EXIT_UNKNOWN = 255

/** The `wait` verb: waits for the container's process and exits with its status. */
export function waitCommand(ctx: CliContext): CommandModule<GlobalArgs, WaitArgs> {
  return {
    command: 'wait <id>',
    describe: 'wait for a container to stop; exit with its status (128+signal when killed)',
    builder: (parser) =>
      parser
        .positional('id', { type: 'string', demandOption: true, describe: 'container id' })
        .option('format', { alias: 'f', choices: ['text', 'json'] as const, default: 'text' as const, describe: 'json prints {"exitCode","signal","oomKilled"}' }),
    handler: async (argv) => {
      const runtime = await openRuntime(ctx, argv)
      const status = await (await runtime.get(argv.id)).wait()
      if (status.exitCode < 0) {
        ctx.err(`lxts: container "${argv.id}" stopped but its exit status is unknown (no monitor recorded it: created by "lxts create")\n`)
        if (argv.format === 'json') ctx.out(`${JSON.stringify({ exitCode: null, signal: null, oomKilled: null })}\n`)
        ctx.exitCode = EXIT_UNKNOWN
        return
      }
      if (argv.format === 'json') ctx.out(`${JSON.stringify({ exitCode: containerExitCode(status), signal: status.signal, oomKilled: status.oomKilled ?? false })}\n`)
      ctx.exitCode = containerExitCode(status)
    },
  }
}
