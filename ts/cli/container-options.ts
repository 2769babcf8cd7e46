/** The flags `create` and `run` share, and their translation into library `CreateOptions`. */
import { resolve } from 'node:path'
import type { Argv } from 'yargs'
import { CliError } from './cli-error.js'
import type { CreateOptions } from './library.js'

/** The parsed container flags. */
export interface ContainerArgs {
  bundle: string | undefined
  'pid-file': string | undefined
  'console-socket': string | undefined
  'no-pivot': boolean
  'no-new-keyring': boolean
  'preserve-fds': number
  /** `--init` (absent when the engine fast path parsed the line). */
  init?: boolean | undefined
}

/** Adds runc's `create` flags to a verb. */
export function withContainerOptions<T>(parser: Argv<T>): Argv<T & ContainerArgs> {
  return parser
    .option('bundle', { alias: 'b', type: 'string', describe: 'bundle directory holding config.json (default: the current directory)' })
    .option('pid-file', { type: 'string', describe: 'write the container init pid to this file' })
    .option('console-socket', { type: 'string', describe: 'AF_UNIX socket path that receives the pty master (process.terminal)' })
    .option('no-pivot', { type: 'boolean', default: false, describe: 'do not use pivot_root (for ramfs roots)' })
    .option('no-new-keyring', { type: 'boolean', default: false, describe: 'do not create a new session keyring' })
    .option('preserve-fds', { type: 'number', default: 0, describe: 'pass N more fds (3 … 3+N-1) to the container' })
    .option('init', { type: 'boolean', describe: 'PID 1 is a tiny init that reaps zombies and forwards signals to the process' })
}

/** Translates the flags; relative paths are resolved against `cwd`. */
export function createOptions(argv: ContainerArgs, cwd: string, monitor: boolean): CreateOptions {
  return { ...sandboxOptions(argv, cwd, monitor), bundle: resolve(cwd, argv.bundle ?? '.') }
}

/** The same translation without a bundle (the sandbox passes a generated config instead). */
export function sandboxOptions(argv: ContainerArgs, cwd: string, monitor: boolean): CreateOptions {
  const options: CreateOptions = {
    noPivot: argv['no-pivot'],
    noNewKeyring: argv['no-new-keyring'],
    preserveFds: argv['preserve-fds'],
    monitor,
  }
  if (argv.init === true) options.init = true
  const listenFds = listenFdsOf(process.env, process.pid)
  if (listenFds > 0) options.listenFds = listenFds
  const pidFile = argv['pid-file']
  const consoleSocket = argv['console-socket']
  if (pidFile !== undefined) options.pidFile = resolve(cwd, pidFile)
  if (consoleSocket !== undefined) options.consoleSocket = resolve(cwd, consoleSocket)
  return options
}

/** `--preserve-fds` must be a non-negative integer. */
export function checkPreserveFds(value: number): true {
  if (Number.isInteger(value) && value >= 0) return true
  throw new CliError('ERR_LXTS_USAGE', `invalid --preserve-fds value "${value}": expected a non-negative integer`, {
    field: '--preserve-fds',
  })
}

/**
 * Socket activation as runc (go-systemd `activation.Files`): `LISTEN_FDS=N` counts when
 * `LISTEN_PID` is this process; those fds 3 … 3+N-1 go to the container.
 */
export function listenFdsOf(env: NodeJS.ProcessEnv, pid: number): number {
  const n = Number(env['LISTEN_FDS'])
  if (env['LISTEN_PID'] !== String(pid) || !Number.isInteger(n) || n <= 0) return 0
  return n
}
