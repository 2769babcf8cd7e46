/**
 * The `lxts` executable's entry (loaded by `bin/lxts.js`). It imports yargs with
 * `process.stdout` shadowed and never touches the stdio streams afterwards, so the fds a
 * container inherits keep their flags.
 */
import { loadYargs } from './load-yargs.js'
import { processContext } from './process-context.js'
import { runCli } from './run-cli.js'

const args = process.argv.slice(2)
process.exitCode = await runCli(args, processContext(args), await loadYargs())
