/**
 * runc's global flags, given before the verb:
 * `lxts [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--systemd-cgroup] [--rootless true|false|auto] [--criu PATH] VERB …`
 */
import type { Argv } from 'yargs'
import { CliError } from './cli-error.js'
import { defaultRoot, isRootless } from '../lifecycle/state-store.js'
import { LOG_FORMATS, type LogFormat } from './log.js'

/** Where container state lives unless `--root` says otherwise (rootless: see defaultRoot). */
export const DEFAULT_ROOT = defaultRoot()

/** The values of `--rootless` runc accepts. */
export const ROOTLESS_VALUES = ['true', 'false', 'auto'] as const

/** The parsed global flags. */
export interface GlobalArgs {
  root: string
  log: string | undefined
  'log-format': LogFormat
  debug: boolean
  'systemd-cgroup': boolean
  rootless: string | undefined
  criu: string | undefined
}

/** Adds the global flags to a parser. */
export function withGlobalOptions(parser: Argv): Argv<GlobalArgs> {
  return parser
    .option('root', { type: 'string', default: DEFAULT_ROOT, describe: 'directory for container state', global: true })
    .option('log', { type: 'string', describe: 'append errors (and --debug lines) to this file', global: true })
    .option('log-format', { choices: LOG_FORMATS, default: 'text' as const, describe: 'log file format', global: true })
    .option('debug', { type: 'boolean', default: false, describe: 'log debug lines to --log', global: true })
    .option('systemd-cgroup', {
      type: 'boolean',
      default: false,
      describe: 'manage cgroups through systemd (not supported yet: create and run fail)',
      global: true,
    })
    .option('rootless', {
      type: 'string',
      describe: 'rootless mode: true|false|auto (lxts is rootless when run by a user other than root; true is accepted only then)',
      global: true,
    })
    .option('criu', { type: 'string', describe: 'path to criu (accepted and ignored: no checkpoint support)', global: true })
}

/**
 * Refuses global flags that would change how a container is created but are not
 * implemented. Verbs that only read or remove state ignore them, so an engine that
 * passes them everywhere can still clean up.
 */
export function rejectUnsupportedGlobals(argv: Pick<GlobalArgs, 'systemd-cgroup' | 'rootless'>): void {
  if (argv['systemd-cgroup']) {
    throw new CliError(
      'ERR_LXTS_UNSUPPORTED',
      '--systemd-cgroup is not supported: lxts manages cgroupfs directly; configure the engine with cgroupfs (containerd SystemdCgroup=false, podman cgroup_manager="cgroupfs")',
      { field: '--systemd-cgroup' },
    )
  }
  if ((argv.rootless === 'true' || argv.rootless === '') && !isRootless()) {
    throw new CliError('ERR_LXTS_UNSUPPORTED', '--rootless=true as root is not supported: lxts is rootless when run by another user (auto)', {
      field: '--rootless',
    })
  }
}

/** Checks `--rootless`'s value (false and auto are accepted and ignored; bare `--rootless` means true). */
export function checkRootlessValue(value: string | undefined): true {
  if (value === undefined || value === '' || ROOTLESS_VALUES.some((allowed) => allowed === value)) return true
  throw new CliError('ERR_LXTS_USAGE', `invalid --rootless value "${value}": expected true, false or auto`, {
    field: '--rootless',
  })
}
