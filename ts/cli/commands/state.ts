/** `lxts state ID` */
import type { CommandModule } from 'yargs'
import type { CliContext } from '../context.js'
import type { GlobalArgs } from '../global-options.js'
import { formatJson } from '../output.js'
import { openRuntime } from './runtime.js'

/** Arguments of `state`. */
export interface StateArgs extends GlobalArgs {
  id: string
}

/** The `state` verb: prints the OCI state JSON (two-space indent, as runc). */
export function stateCommand(ctx: CliContext): CommandModule<GlobalArgs, StateArgs> {
  return {
    command: 'state <id>',
    describe: 'print the OCI state of a container as JSON',
    builder: (parser) => parser.positional('id', { type: 'string', demandOption: true, describe: 'container id' }),
    handler: async (argv) => {
      const runtime = await openRuntime(ctx, argv)
      const container = await runtime.get(argv.id)
      ctx.out(formatJson(await container.state()))
    },
  }
}
