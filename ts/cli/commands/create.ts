/** `lxts create [-b DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID` */
import type { CommandModule } from 'yargs'
import { checkPreserveFds, createOptions, withContainerOptions, type ContainerArgs } from '../container-options.js'
import type { CliContext } from '../context.js'
import { rejectUnsupportedGlobals, type GlobalArgs } from '../global-options.js'
import { openRuntime } from './runtime.js'

/** Arguments of `create`. */
export interface CreateArgs extends GlobalArgs, ContainerArgs {
  id: string
}

/**
 * The `create` verb, as engines call it: the container is set up and waits in `exec.fifo`
 * for `start`. No monitor stays behind (the engine's shim is the subreaper); stdio is passed
 * through untouched.
 */
export function createCommand(ctx: CliContext): CommandModule<GlobalArgs, CreateArgs> {
  return {
    command: 'create <id>',
    describe: 'create a container from a bundle; it waits for `start`',
    builder: (parser) =>
      withContainerOptions(parser)
        .positional('id', { type: 'string', demandOption: true, describe: 'container id' })
        .check((argv) => checkPreserveFds(argv['preserve-fds'])),
    handler: async (argv) => {
      rejectUnsupportedGlobals(argv)
      const runtime = await openRuntime(ctx, argv)
      await runtime.create(argv.id, createOptions(argv, ctx.cwd, false))
    },
  }
}
