/** `lxts start ID` */
import type { CommandModule } from 'yargs'
import type { CliContext } from '../context.js'
import type { GlobalArgs } from '../global-options.js'
import { openRuntime } from './runtime.js'

/** Arguments of `start`. */
export interface StartArgs extends GlobalArgs {
  id: string
}

/** The `start` verb: releases a created container into `process.args`. */
export function startCommand(ctx: CliContext): CommandModule<GlobalArgs, StartArgs> {
  return {
    command: 'start <id>',
    describe: 'start a created container (exec its process)',
    builder: (parser) => parser.positional('id', { type: 'string', demandOption: true, describe: 'container id' }),
    handler: async (argv) => {
      const runtime = await openRuntime(ctx, argv)
      const container = await runtime.get(argv.id)
      await container.start()
    },
  }
}
