/** `lxts delete [--force] ID` */
import type { CommandModule } from 'yargs'
import { errorFacts } from '../cli-error.js'
import type { CliContext } from '../context.js'
import type { GlobalArgs } from '../global-options.js'
import { openRuntime } from './runtime.js'

/** The library's code for an id with no container (engines retry `delete --force` after a failed create). */
export const NOT_FOUND_CODE = 'ERR_LXTS_NOT_FOUND'

/** Arguments of `delete`. */
export interface DeleteArgs extends GlobalArgs {
  id: string
  force: boolean
}

/**
 * The `delete` verb: removes a stopped container (OCI: anything else is refused);
 * `--force` kills a created, running or paused one first, and, as with runc, succeeds when the container does not exist at all.
 */
export function deleteCommand(ctx: CliContext): CommandModule<GlobalArgs, DeleteArgs> {
  return {
    command: 'delete <id>',
    describe: 'delete a container and its state',
    builder: (parser) =>
      parser
        .positional('id', { type: 'string', demandOption: true, describe: 'container id' })
        .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'kill it first if running; no error if absent' }),
    handler: async (argv) => {
      const runtime = await openRuntime(ctx, argv)
      try {
        const container = await runtime.get(argv.id)
        await container.delete({ force: argv.force })
      } catch (error) {
        if (argv.force && errorFacts(error).code === NOT_FOUND_CODE) return
        throw error
      }
    },
  }
}
