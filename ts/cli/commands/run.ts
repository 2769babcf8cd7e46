/**
 * `lxts run [-d] [--keep|--rm] [-b DIR] [--pid-file F] [--console-socket S] [--no-pivot]
 * [--no-new-keyring] [--preserve-fds N] [ID] [-- CMD ARGS…]`
 */
import type { CommandModule } from 'yargs'
import { CliError } from '../cli-error.js'
import { checkPreserveFds, createOptions, sandboxOptions, withContainerOptions, type ContainerArgs } from '../container-options.js'
import type { CliContext } from '../context.js'
import { containerExitCode } from '../exit-codes.js'
import { rejectUnsupportedGlobals, type GlobalArgs } from '../global-options.js'
import type { CliRuntime, CreateOptions, ExitStatus } from '../library.js'
import { bundleWantsTerminal, runWithTerminal } from '../terminal.js'

/** Arguments of `run`. */
export interface RunArgs extends GlobalArgs, ContainerArgs {
  id: string | undefined
  detach: boolean
  keep: boolean | undefined
  rm: boolean | undefined
  tty: boolean
}

/** What to run: an OCI bundle, or the no-image sandbox around a command. */
export interface RunPlan {
  id: string
  options: CreateOptions
  /** True when the id was made up here (then `-d` prints it). */
  generatedId: boolean
}

const HELP_EPILOGUE = `Without "-- CMD", runs the OCI bundle (--bundle, default the current directory) as ID.
With "-- CMD ARGS…" and no --bundle, runs CMD in a sandbox that shares the host's root
filesystem read-only with fresh namespaces; ID defaults to lxts-<8 hex digits>.
In the foreground, lxts waits for the container, exits with its exit code (128+signal
when it was killed) and deletes it afterwards unless --keep is given (--rm is the default,
spelt out). With -d, the container is created and started and lxts returns at once; its
monitor stays behind to record the exit status; delete it with "lxts delete ID".`

/** Decides the id and the create options from the arguments. */
export async function planRun(
  argv: RunArgs & { '--'?: (string | number)[] },
  ctx: CliContext,
): Promise<RunPlan> {
  const command = (argv['--'] ?? []).map(String)
  if (command.length === 0) {
    if (argv.id === undefined) {
      throw new CliError('ERR_LXTS_USAGE', 'run needs a container id (OCI bundle) or "-- CMD" (sandbox)', { field: 'id' })
    }
    return { id: argv.id, options: createOptions(argv, ctx.cwd, true), generatedId: false }
  }
  if (argv.bundle !== undefined) {
    throw new CliError('ERR_LXTS_USAGE', 'run: "-- CMD" starts a sandbox and cannot be combined with --bundle (the bundle config.json names the process)', { field: '--bundle' })
  }
  const id = argv.id ?? `lxts-${ctx.randomHex(4)}`
  const library = await ctx.library()
  const config = library.sandboxConfig(command, { id, root: argv.root })
  return { id, options: { ...sandboxOptions(argv, ctx.cwd, true), config }, generatedId: argv.id === undefined }
}

/**
 * Runs in the foreground and returns the exit status. `Runtime.run` deletes the container
 * afterwards; `--keep` drives create/start/wait itself so the stopped container stays.
 */
async function runForeground(runtime: CliRuntime, plan: RunPlan, keep: boolean): Promise<ExitStatus> {
  if (!keep) return runtime.run(plan.id, plan.options)
  const container = await runtime.create(plan.id, plan.options)
  await container.start()
  return container.wait()
}

/** The `run` verb. */
export function runCommand(ctx: CliContext): CommandModule<GlobalArgs, RunArgs> {
  return {
    command: 'run [id]',
    describe: 'create, start and wait for a container (an OCI bundle, or a sandbox with -- CMD)',
    builder: (parser) =>
      withContainerOptions(parser)
        .positional('id', { type: 'string', describe: 'container id' })
        .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'return once started' })
        .option('keep', { type: 'boolean', describe: 'keep the stopped container (foreground only)' })
        .option('rm', { type: 'boolean', describe: 'delete the container after it exits (the default)' })
        .option('tty', { alias: 't', type: 'boolean', default: false, describe: 'give the process a terminal (process.terminal); in the foreground lxts owns it' })
        .conflicts('keep', 'rm')
        .check((argv) => checkPreserveFds(argv['preserve-fds']))
        .epilogue(HELP_EPILOGUE),
    handler: async (argv) => {
      rejectUnsupportedGlobals(argv)
      if (argv.detach && argv.keep === true) {
        throw new CliError('ERR_LXTS_USAGE', 'run -d keeps the container anyway (delete it with "lxts delete ID"); --keep is for the foreground', { field: '--keep' })
      }
      const plan = await planRun(argv, ctx)
      const runtime = (await ctx.library()).openRuntime({ root: argv.root })
      if (argv.tty) {
        if (argv.detach && argv['console-socket'] === undefined) {
          throw new CliError('ERR_LXTS_USAGE', 'run -d -t: cannot allocate a tty when lxts detaches without --console-socket', { field: '--tty' })
        }
        const proc = plan.options.config?.process
        if (proc !== undefined) proc.terminal = true
      }
      if (argv.detach) {
        // Without a terminal the output goes to <root>/<id>/log (`lxts logs`); --rm: the monitor deletes it after the exit.
        const log = argv['console-socket'] === undefined && !argv.tty
        const container = await runtime.create(plan.id, { ...plan.options, log, removeOnExit: argv.rm === true })
        await container.start()
        if (plan.generatedId) ctx.out(`${plan.id}\n`)
        return
      }
      const ownTerminal = argv['console-socket'] === undefined && (argv.tty || bundleWantsTerminal(plan.options.bundle))
      const restoreSignals = ctx.ignoreSignals()
      try {
        const status = ownTerminal
          ? await runWithTerminal(runtime, plan.id, plan.options, argv.keep === true)
          : await runForeground(runtime, plan, argv.keep === true)
        ctx.exitCode = containerExitCode(status)
      } finally {
        restoreSignals()
      }
    },
  }
}
