/**
 * The fast path for the command lines engines send for every container: `create`, `start`,
 * `state`, `kill`, `delete`, `run ID` (a bundle), `list`, `exec` (with `--process FILE`, as
 * engines and exec probes send it, or `ID CMD…`) and `--version`, in runc's exact flag
 * shapes. It parses them by hand and calls the very handlers the yargs parser calls, so
 * yargs (about 60 ms to import) is never loaded for them.
 *
 * It is deliberately narrow: anything it does not recognise — help, `run -- CMD`, `--keep`,
 * `exec`'s repeatable `-e`/`--cap`/`-g`,
 * `--signal`, unknown or clustered flags, `--flag=value` forms of booleans, values
 * that look like flags, empty values, missing or extra positionals — makes {@link parseFast}
 * return undefined and the whole command line goes to yargs, which stays the reference
 * (test/cli/fast-path.spec.ts runs both on the same argument vectors). A repeated flag keeps
 * its last value, as runc and the yargs path (last-wins.ts) do: every flag here is single-value.
 */
import type { ArgumentsCamelCase, CommandModule } from 'yargs'
import { checkPreserveFds } from './container-options.js'
import type { CliContext } from './context.js'
import { createCommand } from './commands/create.js'
import { deleteCommand } from './commands/delete.js'
import { execCommand } from './commands/exec.js'
import { killCommand } from './commands/kill.js'
import { LIST_FORMATS, listCommand } from './commands/list.js'
import { runCommand } from './commands/run.js'
import { startCommand } from './commands/start.js'
import { stateCommand } from './commands/state.js'
import { checkRootlessValue, DEFAULT_ROOT, type GlobalArgs } from './global-options.js'
import { VERSION_TEXT } from './parser.js'
import { reportError } from './run-cli.js'

/** The verbs the fast path takes. */
export const FAST_VERBS = ['create', 'start', 'state', 'kill', 'delete', 'run', 'list', 'exec'] as const

/** One of {@link FAST_VERBS}. */
export type FastVerb = (typeof FAST_VERBS)[number]

/** A flag the fast path knows: the argv key it sets and how it takes a value. */
interface FlagSpec {
  key: string
  kind: 'string' | 'boolean' | 'count' | 'choice' | 'rootless'
  /** The values a `choice` flag takes (anything else goes to yargs, which reports it). */
  choices?: readonly string[]
}

/** Global flags (before or after the verb, as yargs' `global: true`). */
const GLOBAL_FLAGS: Readonly<Record<string, FlagSpec>> = {
  '--root': { key: 'root', kind: 'string' },
  '--log': { key: 'log', kind: 'string' },
  '--log-format': { key: 'log-format', kind: 'choice', choices: ['text', 'json'] },
  '--debug': { key: 'debug', kind: 'boolean' },
  '--systemd-cgroup': { key: 'systemd-cgroup', kind: 'boolean' },
  '--rootless': { key: 'rootless', kind: 'rootless' },
}

/** `create`'s flags (shared by `run`). */
const CONTAINER_FLAGS: Readonly<Record<string, FlagSpec>> = {
  '--bundle': { key: 'bundle', kind: 'string' },
  '-b': { key: 'bundle', kind: 'string' },
  '--pid-file': { key: 'pid-file', kind: 'string' },
  '--console-socket': { key: 'console-socket', kind: 'string' },
  '--no-pivot': { key: 'no-pivot', kind: 'boolean' },
  '--no-new-keyring': { key: 'no-new-keyring', kind: 'boolean' },
  '--preserve-fds': { key: 'preserve-fds', kind: 'count' },
}

/** `exec`'s single-value and boolean flags (its repeatable ones go to yargs). */
const EXEC_FLAGS: Readonly<Record<string, FlagSpec>> = {
  '--process': { key: 'process', kind: 'string' },
  '-p': { key: 'process', kind: 'string' },
  '--user': { key: 'user', kind: 'string' },
  '-u': { key: 'user', kind: 'string' },
  '--cwd': { key: 'cwd', kind: 'string' },
  '--no-new-privs': { key: 'no-new-privs', kind: 'boolean' },
  '--detach': { key: 'detach', kind: 'boolean' },
  '-d': { key: 'detach', kind: 'boolean' },
  '--tty': { key: 'tty', kind: 'boolean' },
  '-t': { key: 'tty', kind: 'boolean' },
  '--pid-file': { key: 'pid-file', kind: 'string' },
  '--console-socket': { key: 'console-socket', kind: 'string' },
  '--preserve-fds': { key: 'preserve-fds', kind: 'count' },
}

/** Per verb: its flags, and how many positionals it takes (at least, at most). */
const VERBS: Readonly<Record<FastVerb, { flags: Readonly<Record<string, FlagSpec>>; positionals: readonly [number, number] }>> = {
  create: { flags: CONTAINER_FLAGS, positionals: [1, 1] },
  run: { flags: { ...CONTAINER_FLAGS, '--detach': { key: 'detach', kind: 'boolean' }, '-d': { key: 'detach', kind: 'boolean' } }, positionals: [1, 1] },
  start: { flags: {}, positionals: [1, 1] },
  state: { flags: {}, positionals: [1, 1] },
  kill: { flags: { '--all': { key: 'all', kind: 'boolean' }, '-a': { key: 'all', kind: 'boolean' } }, positionals: [1, 2] },
  delete: { flags: { '--force': { key: 'force', kind: 'boolean' }, '-f': { key: 'force', kind: 'boolean' } }, positionals: [1, 1] },
  list: {
    flags: {
      '--format': { key: 'format', kind: 'choice', choices: LIST_FORMATS },
      '-f': { key: 'format', kind: 'choice', choices: LIST_FORMATS },
      '--quiet': { key: 'quiet', kind: 'boolean' },
      '-q': { key: 'quiet', kind: 'boolean' },
    },
    positionals: [0, 0],
  },
  // The id; what follows it is the command (see parseFast).
  exec: { flags: EXEC_FLAGS, positionals: [1, 1] },
}

/** Defaults yargs fills in for every verb (global flags) and per verb. */
const GLOBAL_DEFAULTS: Readonly<Record<string, string | boolean>> = { root: DEFAULT_ROOT, 'log-format': 'text', debug: false, 'systemd-cgroup': false }
const CONTAINER_DEFAULTS: Readonly<Record<string, boolean | number>> = { 'no-pivot': false, 'no-new-keyring': false, 'preserve-fds': 0 }
const VERB_DEFAULTS: Readonly<Record<FastVerb, Readonly<Record<string, string | boolean | number>>>> = {
  create: CONTAINER_DEFAULTS,
  run: { ...CONTAINER_DEFAULTS, detach: false },
  start: {},
  state: {},
  kill: { signal: 'TERM', all: false },
  delete: { force: false },
  list: { format: 'table', quiet: false },
  exec: { detach: false, tty: false, 'preserve-fds': 0 },
}

/** A command line the fast path takes. */
export type FastCommand =
  | { kind: 'version' }
  | { kind: 'verb'; verb: FastVerb; argv: Record<string, string | boolean | number | string[] | undefined> }

/** `a-b-c` → `aBC`, as yargs' camel-case expansion. */
function camelCase(key: string): string {
  return key.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase())
}

/** A value a flag or positional may take without yargs reading it differently. */
function plainValue(value: string | undefined): value is string {
  return value !== undefined && value !== '' && !value.startsWith('-')
}

function isFastVerb(word: string | undefined): word is FastVerb {
  return FAST_VERBS.some((verb) => verb === word)
}

/**
 * Parses `args` (without `node` and the script) when they are a shape the fast path takes;
 * undefined means "give them to yargs". Never has side effects.
 */
export function parseFast(args: readonly string[]): FastCommand | undefined {
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) return { kind: 'version' }
  const argv: Record<string, string | boolean | number | undefined> = {}
  const positionals: string[] = []
  let command: string[] | undefined
  let verb: FastVerb | undefined
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? ''
    if (verb === undefined && !arg.startsWith('-')) {
      if (!isFastVerb(arg)) return undefined
      verb = arg
      continue
    }
    if (!arg.startsWith('-')) {
      positionals.push(arg)
      if (verb === 'exec') {
        // As runc: flags end at the container id; the rest, `--` aside, is the command.
        const rest = args.slice(index + 1)
        command = rest[0] === '--' ? rest.slice(1) : rest
        break
      }
      continue
    }
    const equals = arg.startsWith('--') ? arg.indexOf('=') : -1
    const name = equals === -1 ? arg : arg.slice(0, equals)
    // runc-argv.ts finds exec's id skipping exec's own flags only: global ones after `exec`
    // would be read differently there, so they are left to that path.
    const global = verb === 'exec' ? undefined : GLOBAL_FLAGS[name]
    const spec = global ?? (verb === undefined ? GLOBAL_FLAGS[name] : VERBS[verb].flags[name])
    if (spec === undefined) return undefined
    if (spec.kind === 'boolean') {
      if (equals !== -1) return undefined
      argv[spec.key] = true
      continue
    }
    if (spec.kind === 'rootless') {
      // Bare `--rootless` would take the next word as its value in yargs: leave that to yargs.
      const value = equals === -1 ? undefined : arg.slice(equals + 1)
      if (value !== 'false' && value !== 'auto') return undefined
      argv[spec.key] = value
      continue
    }
    const value = equals === -1 ? args[++index] : arg.slice(equals + 1)
    if (!plainValue(value)) return undefined
    if (spec.kind === 'count') {
      if (!/^\d{1,6}$/.test(value)) return undefined
      argv[spec.key] = Number(value)
    } else if (spec.kind === 'choice') {
      if (!(spec.choices ?? []).includes(value)) return undefined
      argv[spec.key] = value
    } else {
      argv[spec.key] = value
    }
  }
  if (verb === undefined) return undefined
  const [least, most] = VERBS[verb].positionals
  if (positionals.length < least || positionals.length > most) return undefined
  const [id, signal] = positionals
  const filled: Record<string, string | boolean | number | string[] | undefined> = { ...GLOBAL_DEFAULTS, ...VERB_DEFAULTS[verb], ...argv }
  if (id !== undefined) filled['id'] = id
  if (signal !== undefined) filled['signal'] = signal
  if (verb === 'exec') filled['command'] = command ?? []
  return { kind: 'verb', verb, argv: filled }
}

/** The argv object yargs would hand the handler: kebab and camelCase keys, `_` and `$0`. */
function yargsShape<T>(verb: FastVerb, argv: Record<string, string | boolean | number | string[] | undefined>): ArgumentsCamelCase<T> {
  const out: Record<string, unknown> = { _: [verb], $0: 'lxts' }
  for (const [key, value] of Object.entries(argv)) {
    out[key] = value
    out[camelCase(key)] = value
  }
  // The keys and value types were checked against the verb's flag table above.
  return out as ArgumentsCamelCase<T>
}

/** Calls one command module's handler with the argv yargs would have built. */
async function callHandler<T>(command: CommandModule<GlobalArgs, T>, verb: FastVerb, argv: Record<string, string | boolean | number | string[] | undefined>): Promise<void> {
  await command.handler(yargsShape<T>(verb, argv))
}

/** Dispatches a verb to the handler its yargs command module uses. */
async function dispatch(ctx: CliContext, verb: FastVerb, argv: Record<string, string | boolean | number | string[] | undefined>): Promise<void> {
  switch (verb) {
    case 'create':
      return callHandler(createCommand(ctx), verb, argv)
    case 'run':
      return callHandler(runCommand(ctx), verb, argv)
    case 'start':
      return callHandler(startCommand(ctx), verb, argv)
    case 'state':
      return callHandler(stateCommand(ctx), verb, argv)
    case 'kill':
      return callHandler(killCommand(ctx), verb, argv)
    case 'delete':
      return callHandler(deleteCommand(ctx), verb, argv)
    case 'list':
      return callHandler(listCommand(ctx), verb, argv)
    case 'exec':
      return callHandler(execCommand(ctx), verb, argv)
  }
}

/**
 * Runs a command line parsed by {@link parseFast} exactly as `runCli` would (the same
 * logger set-up, checks, handler and error report) and returns the exit code.
 */
export async function runFast(command: FastCommand, ctx: CliContext): Promise<number> {
  if (command.kind === 'version') {
    ctx.out(`${VERSION_TEXT}\n`)
    return ctx.exitCode
  }
  const { verb, argv } = command
  try {
    // What buildParser's checks and middleware do before any handler (parseFast only lets
    // through values these checks accept; they stay as the same guard).
    const rootless = argv['rootless']
    checkRootlessValue(typeof rootless === 'string' ? rootless : undefined)
    if (typeof argv['preserve-fds'] === 'number') checkPreserveFds(argv['preserve-fds'])
    const file = argv['log']
    const format = argv['log-format'] === 'json' ? 'json' : 'text'
    ctx.logger.configure({ ...(typeof file === 'string' ? { file } : {}), format, debug: argv['debug'] === true })
    ctx.logger.debug('lxts invoked', { argv: JSON.stringify([verb]) })
    await dispatch(ctx, verb, argv)
  } catch (error) {
    reportError(ctx, error)
  }
  return ctx.exitCode
}
