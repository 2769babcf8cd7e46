/**
 * The `lxts` executable's entry (loaded by `bin/lxts.js`). The command lines engines send
 * for every container take the fast path (no yargs); everything else is parsed by yargs,
 * imported with `process.stdout` shadowed. Neither touches the stdio streams, so the fds a
 * container inherits keep their flags.
 */
import { parseFast, runFast } from './fast-path.js'
import { loadYargs } from './load-yargs.js'
import { processContext } from './process-context.js'
import { runCli } from './run-cli.js'

const args = process.argv.slice(2)
const fast = parseFast(args)
process.exitCode = fast === undefined ? await runCli(args, processContext(args), await loadYargs()) : await runFast(fast, processContext(args))
