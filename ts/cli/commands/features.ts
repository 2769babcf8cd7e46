/** `lxts features` */
import type { CommandModule } from 'yargs'
import type { CliContext } from '../context.js'
import { FEATURES } from '../features-data.js'
import type { GlobalArgs } from '../global-options.js'
import { formatJson } from '../output.js'

/** The `features` verb: prints what this build implements (see `features-data.ts`). */
export function featuresCommand(ctx: CliContext): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: 'features',
    describe: 'print the runtime-spec features JSON of this build',
    handler: () => {
      ctx.out(formatJson(FEATURES))
    },
  }
}
