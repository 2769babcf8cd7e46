/** Runs one command line: parse, dispatch, report errors. Returns the exit code. */
import { describeError, errorFacts, type ErrorFacts } from './cli-error.js'
import type { CliContext } from './context.js'
import { exitCodeFor } from './exit-codes.js'
import type { LogFields } from './log.js'
import type { YargsFactory } from './load-yargs.js'
import { runcArgs } from './runc-argv.js'
import { buildParser } from './parser.js'

/** The facts of an error as log fields (JSON logs carry them next to `msg`). */
function logFields(facts: ErrorFacts): LogFields {
  const fields: Record<string, string | number> = {}
  if (facts.code !== undefined) fields['code'] = facts.code
  if (facts.field !== undefined) fields['field'] = facts.field
  if (facts.path !== undefined) fields['path'] = facts.path
  if (facts.syscall !== undefined) fields['syscall'] = facts.syscall
  if (facts.errno !== undefined) fields['errno'] = facts.errno
  return fields
}

/** Prints `lxts: <message>` on stderr, appends it to `--log`, and sets the exit code. */
export function reportError(ctx: CliContext, error: unknown): void {
  const facts = errorFacts(error)
  const message = describeError(facts)
  ctx.err(`lxts: ${message}\n`)
  ctx.logger.error(message, logFields(facts))
  ctx.exitCode = exitCodeFor(facts.code)
}

/** Parses `args` (without `node` and the script) and runs the verb; never throws. */
export async function runCli(args: readonly string[], ctx: CliContext, factory: YargsFactory): Promise<number> {
  let output = ''
  try {
    const parser = buildParser(factory, ctx)
    await parser.parseAsync(runcArgs(args), {}, (_error, _argv, text) => {
      output = text
    })
  } catch (error) {
    reportError(ctx, error)
    return ctx.exitCode
  }
  if (output !== '') ctx.out(`${output}\n`)
  return ctx.exitCode
}
