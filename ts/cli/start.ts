/**
 * What the `lxts` executable does with its arguments: the fast path for the command lines
 * engines send for every container, yargs for everything else. Returns the exit code.
 */
import { parseFast, runFast } from './fast-path.js'
import { loadYargs } from './load-yargs.js'
import { processContext } from './process-context.js'
import { runCli } from './run-cli.js'

/** Runs one command line (without `node` and the script) and returns its exit code. */
export async function runLxts(args: readonly string[]): Promise<number> {
  const fast = parseFast(args)
  return fast === undefined ? await runCli(args, processContext(args), await loadYargs()) : await runFast(fast, processContext(args))
}
