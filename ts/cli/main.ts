/**
 * The `lxts` executable's entry as ES modules (the tsc output, loaded by `bin/lxts.js` when
 * there is no current bundle; tests run it through tsx). The command lines engines send
 * for every container take the fast path (no yargs); everything else is parsed by yargs,
 * imported with `process.stdout` shadowed. Neither touches the stdio streams, so the fds a
 * container inherits keep their flags.
 */
import { runLxts } from './start.js'

process.exitCode = await runLxts(process.argv.slice(2))
