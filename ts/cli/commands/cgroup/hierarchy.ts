/** `lxts cgroup subsystems | mount | umount`. */
import type { CommandModule } from 'yargs'
import { CliError } from '../../cli-error.js'
import type { CliContext } from '../../context.js'
import type { GlobalArgs } from '../../global-options.js'
import { formatJson, formatTable } from '../../output.js'
import { cgroupApi } from './common.js'

interface SubsystemsArgs extends GlobalArgs {
  format: string
}

/** `cgroup subsystems [--format table|json]`. */
export function subsystemsCommand(ctx: CliContext): CommandModule<GlobalArgs, SubsystemsArgs> {
  return {
    command: 'subsystems',
    describe: 'list controllers (hierarchy id, groups, enabled, mount points), named hierarchies and cgroup2',
    builder: (p) => p.option('format', { alias: 'f', type: 'string', choices: ['table', 'json'], default: 'table' }),
    handler: async (argv) => {
      const subs = await (await cgroupApi()).subsystems()
      if (argv.format === 'json') return ctx.out(formatJson(subs))
      const rows = subs.map((s) => [s.name, String(s.hierarchy), String(s.numCgroups), s.enabled ? 'yes' : 'no', s.mountPoints.join(',') || '-'])
      ctx.out(formatTable(['SUBSYSTEM', 'HIERARCHY', 'CGROUPS', 'ENABLED', 'MOUNTED'], rows))
    },
  }
}

interface MountArgs extends GlobalArgs {
  dir: string
  controllers: string | undefined
  name: string | undefined
}

/** `cgroup mount DIR -c CONTROLLERS | --name NAME`. */
export function mountCommand(ctx: CliContext): CommandModule<GlobalArgs, MountArgs> {
  return {
    command: 'mount <dir>',
    describe: 'mount a v1 hierarchy: controllers (-c cpu,cpuacct) or a new named one (--name NAME)',
    builder: (p) =>
      p
        .positional('dir', { type: 'string', demandOption: true })
        .option('controllers', { alias: 'c', type: 'string', describe: 'comma-separated controllers' })
        .option('name', { type: 'string', describe: 'a new named hierarchy (none,name=NAME)' }),
    handler: async (argv) => {
      const controllers = (argv.controllers ?? '').split(',').filter((c) => c !== '')
      if (controllers.length === 0 && argv.name === undefined) throw new CliError('ERR_LXTS_USAGE', 'cgroup mount: give -c CONTROLLERS or --name NAME')
      const o: { controllers: string[]; name?: string } = { controllers }
      if (argv.name !== undefined) o.name = argv.name
      await (await cgroupApi()).mount(argv.dir, o)
      void ctx
    },
  }
}

interface UmountArgs extends GlobalArgs {
  dir: string
}

/** `cgroup umount DIR`. */
export function umountCommand(): CommandModule<GlobalArgs, UmountArgs> {
  return {
    command: 'umount <dir>',
    describe: 'unmount a cgroup hierarchy',
    builder: (p) => p.positional('dir', { type: 'string', demandOption: true }),
    handler: async (argv) => {
      await (await cgroupApi()).umount(argv.dir)
    },
  }
}
