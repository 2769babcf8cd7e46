/** `lxts logs [-f] ID` */
import { StringDecoder } from 'node:string_decoder'
import type { CommandModule } from 'yargs'
import type { CliContext } from '../context.js'
import type { GlobalArgs } from '../global-options.js'
import { openRuntime } from './runtime.js'

/** Arguments of `logs`. */
export interface LogsArgs extends GlobalArgs {
  id: string
  follow: boolean
}

/** The `logs` verb: prints what a `run -d` container wrote to stdout and stderr. */
export function logsCommand(ctx: CliContext): CommandModule<GlobalArgs, LogsArgs> {
  return {
    command: 'logs <id>',
    describe: 'print the output of a detached container (run -d)',
    builder: (parser) =>
      parser
        .positional('id', { type: 'string', demandOption: true, describe: 'container id' })
        .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'keep printing until the container stops' }),
    handler: async (argv) => {
      const runtime = await openRuntime(ctx, argv)
      const container = await runtime.get(argv.id)
      const decoder = new StringDecoder('utf8')
      for await (const chunk of container.logs({ follow: argv.follow })) ctx.out(decoder.write(chunk))
      const rest = decoder.end()
      if (rest !== '') ctx.out(rest)
    },
  }
}
