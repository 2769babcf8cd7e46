/** `lxts cgroup create | delete | attach | exec | show | set | get | freeze | thaw | kill` on a group PATH. */
import type { CommandModule } from 'yargs'
import { CliError } from '../../cli-error.js'
import type { CliContext } from '../../context.js'
import type { GlobalArgs } from '../../global-options.js'
import { formatJson } from '../../output.js'
import { cgroupApi, selector, withSelector, type SelectorArgs } from './common.js'

interface PathArgs extends SelectorArgs {
  path: string
}

/** `cgroup create PATH` (parents too) in each selected hierarchy; prints the directories. */
export function createGroupCommand(ctx: CliContext): CommandModule<GlobalArgs, PathArgs> {
  return {
    command: 'create <path>',
    describe: 'create a group (and its parents) under each selected hierarchy',
    builder: (p) => withSelector(p).positional('path', { type: 'string', demandOption: true, describe: 'like /lxts-demo/a/b' }),
    handler: async (argv) => {
      for (const d of await (await cgroupApi()).create(argv.path, selector(argv))) ctx.out(`${d}\n`)
    },
  }
}

interface DeleteArgs extends PathArgs {
  recursive: boolean
}

/** `cgroup delete [-r] PATH`. */
export function deleteGroupCommand(): CommandModule<GlobalArgs, DeleteArgs> {
  return {
    command: 'delete <path>',
    describe: 'delete an empty group (refuses one with processes; -r also deletes empty child groups)',
    builder: (p) =>
      withSelector(p)
        .positional('path', { type: 'string', demandOption: true })
        .option('recursive', { alias: 'r', type: 'boolean', default: false, describe: 'delete empty child groups too' }),
    handler: async (argv) => {
      await (await cgroupApi()).remove(argv.path, { recursive: argv.recursive }, selector(argv))
    },
  }
}

interface AttachArgs extends PathArgs {
  pid: number
  thread: boolean
  threaded: boolean
}

/** `cgroup attach [--thread [--threaded]] PATH PID`. */
export function attachCommand(): CommandModule<GlobalArgs, AttachArgs> {
  return {
    command: 'attach <path> <pid>',
    describe: 'move a process (cgroup.procs) or with --thread one thread (v1 tasks, v2 cgroup.threads) into a group',
    builder: (p) =>
      withSelector(p)
        .positional('path', { type: 'string', demandOption: true })
        .positional('pid', { type: 'number', demandOption: true })
        .option('thread', { type: 'boolean', default: false, describe: 'move only the thread TID' })
        .option('threaded', { type: 'boolean', default: false, describe: 'v2: make the group threaded first' }),
    handler: async (argv) => {
      if (!Number.isInteger(argv.pid) || argv.pid <= 0) throw new CliError('ERR_LXTS_USAGE', `cgroup attach: bad pid ${String(argv.pid)}`)
      await (await cgroupApi()).attach(argv.path, argv.pid, { thread: argv.thread, threaded: argv.threaded }, selector(argv))
    },
  }
}

interface ExecArgs extends PathArgs {
  command: string[] | undefined
  '--'?: string[]
}

/** `cgroup exec PATH -- CMD…`: the command starts inside the group; exits with its code. */
export function execGroupCommand(ctx: CliContext): CommandModule<GlobalArgs, ExecArgs> {
  return {
    command: 'exec <path> [command..]',
    describe: 'run a command inside a group (it and its children start there)',
    builder: (p) =>
      withSelector(p)
        .positional('path', { type: 'string', demandOption: true })
        .positional('command', { type: 'string', array: true, describe: 'the command, after --' }),
    handler: async (argv) => {
      const cmd = [...(argv.command ?? []), ...(argv['--'] ?? [])].map(String)
      if (cmd.length === 0) throw new CliError('ERR_LXTS_USAGE', 'cgroup exec: no command given (lxts cgroup exec PATH -- CMD ARGS…)')
      const r = await (await cgroupApi()).exec(argv.path, cmd, { stdio: 'inherit' }, selector(argv))
      ctx.exitCode = r.exitCode
    },
  }
}

interface ShowArgs extends PathArgs {
  format: string
}

/** `cgroup show PATH [--format text|json]`. */
export function showCommand(ctx: CliContext): CommandModule<GlobalArgs, ShowArgs> {
  return {
    command: 'show <path>',
    describe: 'processes, threads, child groups and interface files of a group',
    builder: (p) =>
      withSelector(p)
        .positional('path', { type: 'string', demandOption: true })
        .option('format', { alias: 'f', type: 'string', choices: ['text', 'json'], default: 'text' }),
    handler: async (argv) => {
      const infos = await (await cgroupApi()).show(argv.path, selector(argv))
      if (argv.format === 'json') return ctx.out(formatJson(infos))
      for (const i of infos) {
        ctx.out(`${i.dir}\n  processes: ${i.procs.join(' ') || '-'}\n  threads: ${i.threads.join(' ') || '-'}\n  children: ${i.children.join(' ') || '-'}\n`)
        for (const f of i.files) ctx.out(`  ${f.name}: ${f.value.includes('\n') ? `\n    ${f.value.split('\n').join('\n    ')}` : f.value}\n`)
      }
    },
  }
}

interface SetArgs extends PathArgs {
  assignment: string
}

/** `cgroup set PATH KEY=VALUE`. */
export function setCommand(): CommandModule<GlobalArgs, SetArgs> {
  return {
    command: 'set <path> <assignment>',
    describe: 'write an interface file: KEY=VALUE (release_agent only on a hierarchy lxts mounted)',
    builder: (p) => withSelector(p).positional('path', { type: 'string', demandOption: true }).positional('assignment', { type: 'string', demandOption: true }),
    handler: async (argv) => {
      const eq = argv.assignment.indexOf('=')
      if (eq <= 0) throw new CliError('ERR_LXTS_USAGE', `cgroup set: expected KEY=VALUE, got ${JSON.stringify(argv.assignment)}`)
      await (await cgroupApi()).set(argv.path, argv.assignment.slice(0, eq), argv.assignment.slice(eq + 1), selector(argv))
    },
  }
}

interface GetArgs extends PathArgs {
  key: string
}

/** `cgroup get PATH KEY`: the value (one line per hierarchy that has the file, prefixed by its directory when several). */
export function getCommand(ctx: CliContext): CommandModule<GlobalArgs, GetArgs> {
  return {
    command: 'get <path> <key>',
    describe: 'read an interface file',
    builder: (p) => withSelector(p).positional('path', { type: 'string', demandOption: true }).positional('key', { type: 'string', demandOption: true }),
    handler: async (argv) => {
      const values = await (await cgroupApi()).get(argv.path, argv.key, selector(argv))
      for (const v of values) ctx.out(values.length > 1 ? `${v.dir}: ${v.value}\n` : `${v.value}\n`)
    },
  }
}
