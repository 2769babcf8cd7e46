/** Builds the yargs parser: global flags, one command module per verb, runc's conventions. */
import type { Argv } from 'yargs'
import { CliError } from './cli-error.js'
import { cgroupCommand } from './commands/cgroup.js'
import { createCommand } from './commands/create.js'
import { deleteCommand } from './commands/delete.js'
import { eventsCommand } from './commands/events.js'
import { execCommand } from './commands/exec.js'
import { featuresCommand } from './commands/features.js'
import { killCommand } from './commands/kill.js'
import { listCommand } from './commands/list.js'
import { logsCommand } from './commands/logs.js'
import { pauseCommand, resumeCommand } from './commands/pause.js'
import { psCommand } from './commands/ps.js'
import { runCommand } from './commands/run.js'
import { specCommand } from './commands/spec.js'
import { startCommand } from './commands/start.js'
import { stateCommand } from './commands/state.js'
import { updateCommand } from './commands/update.js'
import { waitCommand } from './commands/wait.js'
import type { CliContext } from './context.js'
import { LXTS_VERSION, SPEC_VERSION } from './features-data.js'
import { checkRootlessValue, withGlobalOptions, type GlobalArgs } from './global-options.js'
import { declaredOptions, lastWins } from './last-wins.js'
import type { YargsFactory } from './load-yargs.js'

/** What `--version` prints; go-runc reads the first line as `<name> version X`. */
export const VERSION_TEXT = `lxts version ${LXTS_VERSION}\nspec: ${SPEC_VERSION}`

/**
 * The parser for `lxts`. Handlers act through `ctx` only, so tests pass a fake library
 * and capture output. Errors (usage or from a verb) are thrown, never printed here.
 */
export function buildParser(factory: YargsFactory, ctx: CliContext): Argv<GlobalArgs> {
  // English, as runc prints and engines read (the bundle finds no yargs locale files anyway).
  const parser = withGlobalOptions(factory().scriptName('lxts').locale('en'))
  return parser
    .usage('$0 [global options] <command> [options]')
    .middleware((argv) => {
      const file = argv.log
      ctx.logger.configure({ ...(file === undefined ? {} : { file }), format: argv['log-format'], debug: argv.debug })
      ctx.logger.debug('lxts invoked', { argv: JSON.stringify(argv._) })
    })
    // A repeated single-value flag: the last one wins, as in runc (last-wins.ts).
    .middleware((argv) => lastWins(argv, declaredOptions(parser)), true)
    .check((argv) => checkRootlessValue(argv.rootless))
    .command(createCommand(ctx))
    .command(startCommand(ctx))
    .command(runCommand(ctx))
    .command(stateCommand(ctx))
    .command(killCommand(ctx))
    .command(deleteCommand(ctx))
    .command(listCommand(ctx))
    .command(updateCommand(ctx))
    .command(eventsCommand(ctx))
    .command(execCommand(ctx))
    .command(waitCommand(ctx))
    .command(logsCommand(ctx))
    .command(pauseCommand(ctx))
    .command(resumeCommand(ctx))
    .command(psCommand(ctx))
    .command(cgroupCommand(ctx))
    .command(specCommand(ctx))
    .command(featuresCommand(ctx))
    .group(['root', 'log', 'log-format', 'debug', 'systemd-cgroup', 'rootless', 'criu'], 'Global options (before the command):')
    .demandCommand(1, 'no command given (try lxts --help)')
    .recommendCommands()
    .strict()
    // runc's flags include --no-pivot and --no-new-keyring: never read them as "not --pivot".
    .parserConfiguration({ 'populate--': true, 'boolean-negation': false })
    .version(VERSION_TEXT)
    .alias('version', 'v')
    .help()
    .alias('help', 'h')
    .showHelpOnFail(false)
    .exitProcess(false)
    .wrap(100)
    .fail((message, error) => {
      // yargs reports its own validation failures as YError (or only a message); anything
      // else was thrown by a verb and keeps its code.
      if (error === undefined || error === null || error.name === 'YError') {
        throw new CliError('ERR_LXTS_USAGE', message || (error?.message ?? 'invalid arguments'))
      }
      throw error
    })
}
