/**
 * `lxts exec [--process FILE] [-u UID[:GID]] [-g GID]… [--cwd DIR] [-e KEY=VAL]… [--cap CAP]…
 * [--no-new-privs] [-d] [-t] [--console-socket SOCK] [--pid-file FILE] [--preserve-fds N] ID [-- CMD ARGS…]`,
 * as runc's. `-t` without `--console-socket` in the foreground: lxts owns the terminal, as `run -t`.
 */
import { renameSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { CommandModule } from 'yargs'
import { CliError } from '../cli-error.js'
import { checkPreserveFds } from '../container-options.js'
import type { CliContext } from '../context.js'
import { containerExitCode } from '../exit-codes.js'
import { rejectUnsupportedGlobals, type GlobalArgs } from '../global-options.js'
import type { ExecProcess } from '../library.js'
import { attachTerminal, hostSize } from '../terminal.js'
import { openRuntime } from './runtime.js'

/** Arguments of `exec`. */
export interface ExecArgs extends GlobalArgs {
  id: string
  command: string[] | undefined
  process: string | undefined
  user: string | undefined
  'additional-gids': string | number | (string | number)[] | undefined
  cwd: string | undefined
  env: string | string[] | undefined
  cap: string | string[] | undefined
  'no-new-privs': boolean | undefined
  detach: boolean
  tty: boolean
  'pid-file': string | undefined
  'console-socket': string | undefined
  'preserve-fds': number
  apparmor: string | undefined
  'process-label': string | undefined
}

/** Signals a foreground exec passes on (SIGINT from a terminal reaches the helper's group directly). */
const FORWARDED = ['SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const

/** A repeatable flag's values. */
function list<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}

/** `UID[:GID]` as numbers. */
export function parseUser(text: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(text)
  if (m === null) {
    throw new CliError('ERR_LXTS_USAGE', `invalid --user ${JSON.stringify(text)}: expected UID[:GID] as numbers`, { field: '--user' })
  }
  return { uid: Number(m[1]), gid: m[2] === undefined ? 0 : Number(m[2]) }
}

/** The process overrides the flags ask for (without `--process`). */
export function processFromFlags(argv: ExecArgs, command: string[]): ExecProcess {
  if (command.length === 0) throw new CliError('ERR_LXTS_USAGE', 'exec needs a command (after the id, or "-- CMD ARGS…") or --process FILE', { field: 'command' })
  const p: ExecProcess = { args: command }
  const env = list(argv.env)
  if (env.length > 0) {
    for (const e of env) if (!e.includes('=')) throw new CliError('ERR_LXTS_USAGE', `invalid --env ${JSON.stringify(e)}: expected KEY=VALUE`, { field: '--env' })
    p.env = env
  }
  if (argv.cwd !== undefined) p.cwd = argv.cwd
  if (argv.user !== undefined) {
    const u = parseUser(argv.user)
    p.user = { uid: u.uid, gid: u.gid, additionalGids: list(argv['additional-gids']).map(Number) }
  }
  if (argv['no-new-privs'] === true) p.noNewPrivileges = true
  return p
}

/** Write the pid atomically, without a trailing newline. */
function writePidFile(file: string, pid: number): void {
  const tmp = join(dirname(file), `.${process.pid}.pid.tmp`)
  writeFileSync(tmp, String(pid), { mode: 0o644 })
  renameSync(tmp, file)
}

/** The `exec` verb. */
export function execCommand(ctx: CliContext): CommandModule<GlobalArgs, ExecArgs> {
  return {
    command: 'exec <id> [command..]',
    describe: 'run a process in a running container',
    builder: (parser) =>
      parser
        .positional('id', { type: 'string', demandOption: true, describe: 'container id' })
        .positional('command', { type: 'string', array: true, describe: 'command and arguments (or after --)' })
        .option('process', { alias: 'p', type: 'string', describe: 'OCI process JSON file (replaces the command and the flags below)' })
        .option('user', { alias: 'u', type: 'string', describe: 'UID[:GID]' })
        // Repeatable, not greedy: `--cap X ID` must leave ID alone.
        .option('additional-gids', { alias: 'g', type: 'string', describe: 'additional group id (with --user; repeatable)' })
        .option('cwd', { type: 'string', describe: 'working directory inside the container' })
        .option('env', { alias: 'e', type: 'string', describe: 'KEY=VALUE, added to the container\'s environment (repeatable)' })
        .option('cap', { alias: 'c', type: 'string', describe: 'add a capability (bounding, effective, permitted; never inheritable; repeatable)' })
        .option('no-new-privs', { type: 'boolean', describe: 'set no_new_privs' })
        .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'return once the process started' })
        .option('tty', { alias: 't', type: 'boolean', default: false, describe: 'allocate a terminal' })
        .option('pid-file', { type: 'string', describe: 'write the process pid to this file' })
        .option('console-socket', { type: 'string', describe: 'AF_UNIX socket receiving the pty master (with -t)' })
        .option('preserve-fds', { type: 'number', default: 0, describe: 'pass N more fds (3 … 3+N-1)' })
        .option('apparmor', { type: 'string', describe: 'not supported (an error when given)' })
        .option('process-label', { type: 'string', describe: 'not supported (an error when given)' })
        .check((argv) => checkPreserveFds(argv['preserve-fds'])),
    handler: async (argv) => {
      rejectUnsupportedGlobals(argv)
      for (const f of ['apparmor', 'process-label'] as const) {
        if (argv[f] !== undefined && argv[f] !== '') throw new CliError('ERR_LXTS_UNSUPPORTED', `--${f} is not supported: lxts applies no LSM labels`, { field: `--${f}` })
      }
      const command = [...(argv.command ?? []), ...((argv as { '--'?: (string | number)[] })['--'] ?? [])].map(String)
      const library = await ctx.library()
      let proc: ExecProcess
      if (argv.process !== undefined) {
        if (command.length > 0) throw new CliError('ERR_LXTS_USAGE', 'exec: give either --process FILE or a command, not both', { field: '--process' })
        proc = await library.readProcessFile(resolve(ctx.cwd, argv.process))
        if (argv['no-new-privs'] === true) proc.noNewPrivileges = true
      } else {
        proc = processFromFlags(argv, command)
      }
      if (argv.tty) proc.terminal = true
      const consoleSocket = argv['console-socket'] === undefined ? undefined : resolve(ctx.cwd, argv['console-socket'])
      if (proc.terminal === true && argv.detach && consoleSocket === undefined) {
        throw new CliError('ERR_LXTS_USAGE', 'exec -d -t: cannot allocate a tty when lxts detaches without --console-socket', { field: '--tty' })
      }
      if (proc.terminal !== true && consoleSocket !== undefined) {
        throw new CliError('ERR_LXTS_USAGE', 'exec: --console-socket needs a terminal (-t, or "terminal": true in --process)', { field: '--console-socket' })
      }
      // lxts owns the terminal: the pty starts at the host terminal's size (no tty on stdin: the kernel's 0x0).
      const size = proc.terminal === true && consoleSocket === undefined ? hostSize() : undefined
      if (size !== undefined && proc.consoleSize === undefined) proc.consoleSize = { width: size.cols, height: size.rows }
      const runtime = await openRuntime(ctx, argv)
      const container = await runtime.get(argv.id)
      const restore = argv.detach ? () => {} : ctx.ignoreSignals()
      try {
        const handle = await container.exec(proc, {
          detach: argv.detach,
          complete: argv.process !== undefined,
          addCapabilities: list(argv.cap),
          preserveFds: argv['preserve-fds'],
          consoleSocket,
        })
        const pidFile = argv['pid-file']
        if (pidFile !== undefined) writePidFile(resolve(ctx.cwd, pidFile), handle.pid)
        if (argv.detach) return
        const term = handle.terminal
        if (term !== undefined) {
          const status = await attachTerminal(term, (cols, rows) => handle.resize(cols, rows), async (sig) => handle.kill(sig), () => handle.wait())
          ctx.exitCode = containerExitCode(status)
          return
        }
        const forward = (sig: NodeJS.Signals): void => handle.kill(sig)
        for (const s of FORWARDED) process.on(s, forward)
        try {
          ctx.exitCode = containerExitCode(await handle.wait())
        } finally {
          for (const s of FORWARDED) process.off(s, forward)
        }
      } finally {
        restore()
      }
    },
  }
}
