/** Opens the library's `Runtime` for the `--root` a verb was given. */
import type { CliContext } from '../context.js'
import type { GlobalArgs } from '../global-options.js'
import type { CliRuntime } from '../library.js'

/** Loads the library (first use only) and opens the runtime at `--root`. */
export async function openRuntime(ctx: CliContext, argv: Pick<GlobalArgs, 'root'>): Promise<CliRuntime> {
  const library = await ctx.library()
  return library.openRuntime({ root: argv.root })
}
