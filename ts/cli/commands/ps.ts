/**
 * `lxts ps [--format table|json] ID [ps-args…]`: the container's processes. `json` is the
 * array of pids (what go-runc parses); `table` runs the host's `ps` (default `-ef`) and keeps
 * the header and the rows whose PID column is one of the container's; without `ps`, PID and
 * command line come from /proc.
 */
import type { CommandModule } from 'yargs'
import { CliError } from '../cli-error.js'
import type { CliContext } from '../context.js'
import type { GlobalArgs } from '../global-options.js'
import { formatTable } from '../output.js'
import { freezable } from './pause.js'
import { childProcess, fsPromises } from '../../lazy-builtins.js'

/** Arguments of `ps`. */
export interface PsArgs extends GlobalArgs {
  id: string
  format: string
  'ps-args': string[]
  '--'?: string[]
}

/** Keep `ps` output's header and the rows whose PID column is in `pids`. */
export function filterPs(output: string, pids: ReadonlySet<number>): string {
  const lines = output.split('\n')
  const header = lines[0] ?? ''
  const column = header.trim().split(/\s+/).indexOf('PID')
  if (column < 0) throw new CliError('ERR_LXTS_USAGE', `ps: no PID column in its output header ${JSON.stringify(header)}`)
  const rows = lines.slice(1).filter((l) => {
    const pid = Number(l.trim().split(/\s+/)[column])
    return Number.isInteger(pid) && pids.has(pid)
  })
  return [header, ...rows].join('\n') + '\n'
}

async function runPs(args: string[]): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = childProcess().spawn('ps', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.once('error', (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? resolve(undefined) : reject(e)))
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'))
      else reject(new CliError('ERR_LXTS_USAGE', `ps ${args.join(' ')} failed (exit ${code ?? 'signal'}): ${Buffer.concat(err).toString('utf8').trim()}`))
    })
  })
}

async function fromProc(pids: number[]): Promise<string> {
  const rows: string[][] = []
  for (const pid of pids) {
    const cmd = await fsPromises().readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined)
    if (cmd === undefined) continue
    const text = cmd.split('\0').filter((a) => a !== '').join(' ')
    const comm = text !== '' ? text : `[${(await fsPromises().readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim()}]`
    rows.push([String(pid), comm])
  }
  return formatTable(['PID', 'CMD'], rows)
}

/** The `ps` verb. */
export function psCommand(ctx: CliContext): CommandModule<GlobalArgs, PsArgs> {
  return {
    command: 'ps <id> [ps-args..]',
    describe: 'list the processes of a container (json: their pids; table: the host ps filtered to them)',
    builder: (parser) =>
      parser
        .positional('id', { type: 'string', demandOption: true, describe: 'container id' })
        .positional('ps-args', { type: 'string', array: true, default: [], describe: 'arguments for ps (default -ef)' })
        .option('format', { alias: 'f', type: 'string', choices: ['table', 'json'], default: 'table', describe: 'output format' }),
    handler: async (argv) => {
      const c = await freezable(ctx, argv)
      const pids = await c.pids()
      const extra = [...argv['ps-args'], ...(argv['--'] ?? [])].map(String)
      if (argv.format === 'json') {
        if (extra.length > 0) throw new CliError('ERR_LXTS_USAGE', 'ps: ps arguments cannot be used with --format json')
        ctx.out(`${JSON.stringify(pids)}\n`)
        return
      }
      const out = await runPs(extra.length > 0 ? extra : ['-ef'])
      ctx.out(out === undefined ? await fromProc(pids) : filterPs(out, new Set(pids)))
    },
  }
}
