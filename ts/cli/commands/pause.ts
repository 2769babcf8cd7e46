/** `lxts pause ID` and `lxts resume ID`: freeze and thaw every process of a container. */
import type { CommandModule } from 'yargs'
import { CliError } from '../cli-error.js'
import type { CliContext } from '../context.js'
import type { GlobalArgs } from '../global-options.js'
import type { CliContainer } from '../library.js'
import { openRuntime } from './runtime.js'

/** Arguments of `pause` / `resume`. */
export interface PauseArgs extends GlobalArgs {
  id: string
}

/** The container methods pause/resume/ps need (the library's `Container` has them). */
export interface FreezableContainer extends CliContainer {
  pause(): Promise<void>
  resume(): Promise<void>
  pids(): Promise<number[]>
}

/** The container `id`, with the freezer methods checked. */
export async function freezable(ctx: CliContext, argv: PauseArgs): Promise<FreezableContainer> {
  const c = (await (await openRuntime(ctx, argv)).get(argv.id)) as Partial<FreezableContainer> & CliContainer
  if (typeof c.pause !== 'function' || typeof c.resume !== 'function' || typeof c.pids !== 'function') {
    throw new CliError('ERR_LXTS_UNSUPPORTED', 'this library has no pause/resume/pids')
  }
  return c as FreezableContainer
}

function verb(ctx: CliContext, name: 'pause' | 'resume', describe: string): CommandModule<GlobalArgs, PauseArgs> {
  return {
    command: `${name} <id>`,
    describe,
    builder: (parser) => parser.positional('id', { type: 'string', demandOption: true, describe: 'container id' }),
    handler: async (argv) => {
      const c = await freezable(ctx, argv)
      await (name === 'pause' ? c.pause() : c.resume())
    },
  }
}

/** The `pause` verb: freeze every process of a running container (state then shows `paused`). */
export function pauseCommand(ctx: CliContext): CommandModule<GlobalArgs, PauseArgs> {
  return verb(ctx, 'pause', 'freeze every process of a running container')
}

/** The `resume` verb: thaw a paused container. */
export function resumeCommand(ctx: CliContext): CommandModule<GlobalArgs, PauseArgs> {
  return verb(ctx, 'resume', 'thaw a paused container')
}
