/** `lxts cgroup <subcommand>`: the cgroup primitives, LXC-style (see ts/cgroup for the library). */
import type { CommandModule } from 'yargs'
import type { CliContext } from '../context.js'
import type { GlobalArgs } from '../global-options.js'
import { attachCommand, createGroupCommand, deleteGroupCommand, execGroupCommand, getCommand, setCommand, showCommand } from './cgroup/group.js'
import { mountCommand, subsystemsCommand, umountCommand } from './cgroup/hierarchy.js'
import { watchCommand } from './cgroup/watch.js'

/** The `cgroup` command group. */
export function cgroupCommand(ctx: CliContext): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: 'cgroup <subcommand>',
    describe: 'cgroup primitives: subsystems, mount, umount, create, delete, attach, exec, show, set, get, watch',
    builder: (p) =>
      p
        .command(subsystemsCommand(ctx))
        .command(mountCommand(ctx))
        .command(umountCommand())
        .command(createGroupCommand(ctx))
        .command(deleteGroupCommand())
        .command(attachCommand())
        .command(execGroupCommand(ctx))
        .command(showCommand(ctx))
        .command(setCommand())
        .command(getCommand(ctx))
        .command(watchCommand(ctx))
        .demandCommand(1, 'no cgroup subcommand given (try lxts cgroup --help)'),
    handler: () => {},
  }
}
