/**
 * The entry of the CommonJS bundle (dist/bin/lxts.cjs, built by scripts/build-cli.mjs and
 * run by `bin/lxts.js`): the same as main.ts, without top-level await, which CommonJS lacks.
 * {@link runLxts} reports every error itself; a rejection here is a bug, and Node's
 * unhandled-rejection report (exit code 1) is the right answer to it.
 */
import { runLxts } from './start.js'

// As an ES module's top-level await would: a command whose promise never settles, the event
// loop then empty, exits 13, not 0 (an engine must not read an abandoned command as success).
process.exitCode = 13
void runLxts(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
