/**
 * The CLI fast path (ts/cli/fast-path.ts) against yargs, the reference: every argument
 * vector it takes must give the same library calls, output, exit code and log lines;
 * anything unusual must be left to yargs.
 */
import test from 'ava'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseFast, runFast } from '../../ts/cli/fast-path.js'
import { cli, FakeLxtsError, stateOf, withTempDir, type FakeBehaviour, type Runner } from './fake.js'

const fastRunner: Runner = async (args, ctx) => {
  const command = parseFast(args)
  if (command === undefined) throw new Error(`the fast path refused ${args.join(' ')}`)
  return runFast(command, ctx)
}

const EXISTING: FakeBehaviour = { states: [stateOf('c1'), stateOf('s1', 'stopped')] }

/** Single-value flags given twice (flag, first value, last value). */
const REPEATED: [string, string, string][] = [
  ['--bundle', '/a', '/b'],
  ['-b', '/a', '/b'],
  ['--pid-file', '/p1', '/p2'],
  ['--console-socket', '/s1', '/s2'],
  ['--preserve-fds', '1', '2'],
  ['--root', '/r1', '/r2'],
]

/** Argument vectors the fast path must take, with the behaviour of the fake library. */
const TAKEN: [string, string[], FakeBehaviour][] = [
  ['--version', ['--version'], {}],
  ['-v', ['-v'], {}],
  ['containerd create', ['--root', '/run/containerd/runc/k8s.io', '--log', 'LOG', '--log-format', 'json', 'create', '--bundle', '/b', '--pid-file', '/b/init.pid', 'c9'], {}],
  ['create, every flag', ['--root', '/r', '--debug', '--rootless=false', 'create', '--bundle', '/b', '--pid-file', '/b/init.pid', '--console-socket', '/tmp/pty.sock', '--no-pivot', '--no-new-keyring', '--preserve-fds', '2', 'c9'], {}],
  ['create, = forms and -b', ['--root=/r', '--log=LOG', '--log-format=text', 'create', '-b', 'rel/bundle', '--pid-file=pid', '--preserve-fds=0', 'c9'], {}],
  ['create, flags after the id', ['create', 'c9', '--bundle', '/b', '--root', '/r'], {}],
  ['create, relative paths and cwd bundle', ['create', '--pid-file', 'p', '--console-socket', 's', 'c9'], {}],
  ['create fails', ['--log', 'LOG', 'create', '--bundle', '/b', 'c9'], { createError: new FakeLxtsError('ERR_LXTS_MOUNT', 'mount /proc failed', { path: '/proc', syscall: 'mount', errno: 2 }) }],
  ['create --systemd-cgroup is refused', ['--systemd-cgroup', '--log', 'LOG', 'create', 'c9'], {}],
  ['create --rootless=auto', ['--rootless=auto', 'create', 'c9'], {}],
  ['start', ['--root', '/r', 'start', 'c1'], EXISTING],
  ['start of a missing container', ['--log', 'LOG', '--log-format', 'json', 'start', 'nope'], EXISTING],
  ['state', ['--root', '/r', 'state', 'c1'], EXISTING],
  ['state of a stopped container', ['state', 's1'], EXISTING],
  ['state of a missing container', ['state', 'nope'], EXISTING],
  ['kill default signal', ['kill', 'c1'], EXISTING],
  ['kill SIGNAL', ['--root', '/r', 'kill', 'c1', 'KILL'], EXISTING],
  ['kill number --all', ['kill', '--all', 'c1', '9'], EXISTING],
  ['kill -a after', ['kill', 'c1', 'SIGTERM', '-a'], EXISTING],
  ['delete', ['delete', 's1'], EXISTING],
  ['delete --force', ['--root', '/r', '--log', 'LOG', 'delete', '--force', 'c1'], EXISTING],
  ['delete -f of a missing container', ['delete', '-f', 'nope'], EXISTING],
  ['delete of a missing container', ['delete', 'nope'], EXISTING],
  ['run a bundle', ['--root', '/r', 'run', '--bundle', '/b', 'c9'], {}],
  ['run exits 3', ['run', 'c9'], { runStatus: { exitCode: 3, signal: null } }],
  ['run killed by a signal', ['run', '-b', '/b', 'c9'], { runStatus: { exitCode: -1, signal: 9 } }],
  ['run -d', ['run', '-d', '--pid-file', '/p', 'c9'], {}],
  ['run --detach with every create flag', ['run', '--detach', '--no-pivot', '--no-new-keyring', '--preserve-fds', '1', '--console-socket', '/s', 'c9'], {}],
  ['run fails', ['--log', 'LOG', '--debug', 'run', 'c9'], { createError: new FakeLxtsError('ERR_LXTS_EXEC_NOT_FOUND', 'executable not found', { path: '/bin/nope' }) }],
  // A repeated single-value flag: the last one wins, as in runc.
  ...REPEATED.map(([flag, a, b]): [string, string[], FakeBehaviour] => [`create ${flag} twice`, ['create', flag, a, ...(flag.startsWith('--') ? [`${flag}=${b}`] : [flag, b]), 'c9'], {}]),
  ['create --bundle then -b', ['create', '--bundle', '/a', '-b', '/b', 'c1'], {}],
  ['--root before and after the verb', ['--root', '/a', 'state', '--root', '/b', 'c1'], EXISTING],
  ['--log twice', ['--log', 'LOG-not', '--log', 'LOG', 'create', 'c9'], { createError: new FakeLxtsError('ERR_LXTS_MOUNT', 'mount /proc failed') }],
  ['--log-format twice', ['--log-format', 'text', '--log-format=json', '--log', 'LOG', 'start', 'nope'], EXISTING],
  ['--rootless twice', ['--rootless=auto', '--rootless=false', 'create', 'c9'], {}],
  ['run -d --detach --pid-file twice', ['run', '-d', '--detach', '--pid-file', '/p1', '--pid-file', '/p2', 'c9'], {}],
  ['delete --force -f', ['delete', '--force', '-f', 'c1'], EXISTING],
  ['list', ['list'], EXISTING],
  ['list --format json', ['--root', '/r', 'list', '--format', 'json'], EXISTING],
  ['list -f json -q', ['list', '-f', 'json', '-q'], EXISTING],
  ['list --format=table --quiet', ['list', '--format=table', '--quiet'], EXISTING],
  ['list of nothing', ['list', '--format', 'json'], {}],
  ['containerd exec (a probe)', ['--root', '/run/containerd/runc/k8s.io', '--log', 'LOG', '--log-format', 'json', 'exec', '--process', '/tmp/p.json', '--detach', '--pid-file', '/tmp/p.pid', 'c1'], EXISTING],
  ['exec ID CMD', ['exec', 'c1', '/bin/true'], EXISTING],
  ['exec ID CMD with flags of its own', ['exec', 'c1', 'sh', '-c', 'echo hi', '--detach'], EXISTING],
  ['exec ID -- CMD', ['--root', '/r', 'exec', '--cwd', '/tmp', '-u', '1000:1000', 'c1', '--', 'ls', '-l'], EXISTING],
  ['exec -t --console-socket -d', ['exec', '-t', '--console-socket', '/s', '-d', 'c1', 'sh'], EXISTING],
  ['exec --no-new-privs --preserve-fds', ['exec', '--no-new-privs', '--preserve-fds', '2', 'c1', 'true'], EXISTING],
  ['exec exits 3', ['exec', 'c1', 'false'], { ...EXISTING, runStatus: { exitCode: 3, signal: null } }],
  ['exec without a command', ['--log', 'LOG', 'exec', 'c1'], EXISTING],
  ['exec --process and a command', ['exec', '-p', '/p.json', 'c1', 'true'], EXISTING],
  ['exec into a missing container', ['exec', 'nope', 'true'], EXISTING],
  ['exec --user that is no number', ['exec', '--user', 'root', 'c1', 'true'], EXISTING],
]

/** Log lines without their timestamps. */
function logLines(file: string): string[] {
  let text = ''
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return []
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/"time":"[^"]*"/, '"time":T').replace(/^time="[^"]*"/, 'time=T'))
}

for (const [title, args, behaviour] of TAKEN) {
  test(`fast path = yargs: ${title}`, async (t) => {
    t.not(parseFast(args), undefined, 'the fast path takes this argv')
    const [viaYargs, viaFast] = await withTempDir(async (dir) => {
      const withLog = (name: string): string[] => args.map((arg) => arg.replace('LOG', join(dir, name)))
      const y = await cli(withLog('yargs.log'), behaviour, '/work/bundle')
      const f = await cli(withLog('fast.log'), behaviour, '/work/bundle', fastRunner)
      return [
        { ...y, log: logLines(join(dir, 'yargs.log')) },
        { ...f, log: logLines(join(dir, 'fast.log')) },
      ]
    })
    t.deepEqual(viaFast, viaYargs)
    if (args.includes('LOG')) t.true(viaYargs.log.length > 0 || viaYargs.code === 0, 'the log was written when something failed')
  })
}

/** Argument vectors that must go to yargs (help, sandbox, unusual or ambiguous shapes). */
const LEFT_TO_YARGS: string[][] = [
  [],
  ['--help'],
  ['-h'],
  ['create', '--help'],
  ['--version', 'state', 'c1'],
  ['ls'],
  ['list', 'c1'],
  ['list', '--format', 'yaml'],
  ['list', '--all'],
  ['features'],
  ['spec'],
  ['frobnicate', 'c1'],
  ['run', '--', 'sh', '-c', 'true'],
  ['run', 'c1', '--', 'true'],
  ['run', '--keep', 'c1'],
  ['run', '--rm', 'c1'],
  ['run'],
  ['create'],
  ['create', 'a', 'b'],
  ['state', 'c1', 'extra'],
  ['kill', 'c1', 'TERM', 'extra'],
  ['kill', '--signal', 'KILL', 'c1'],
  ['kill', '-s', 'KILL', 'c1'],
  ['create', '--preserve-fds', '1', '--preserve-fds', 'x', 'c1'],
  ['--log-format', 'xml', '--log-format', 'json', 'state', 'c1'],
  ['create', '--bundle', 'c1'],
  ['create', '--bundle', '--pid-file', '/p', 'c1'],
  ['create', '--bundle=', 'c1'],
  ['create', '--preserve-fds', 'x', 'c1'],
  ['create', '--preserve-fds', '-1', 'c1'],
  ['create', '--no-pivot=false', 'c1'],
  ['delete', '-fa', 'c1'],
  ['delete', '--all', 'c1'],
  ['start', '-b', '/b', 'c1'],
  ['--rootless', 'create', 'c1'],
  ['--rootless', 'true', 'create', 'c1'],
  ['--rootless=maybe', 'create', 'c1'],
  ['--log-format', 'xml', 'state', 'c1'],
  ['--criu', '/usr/sbin/criu', 'state', 'c1'],
  ['--root', 'state', 'c1'],
  ['state', '-c1'],
  ['--debug=true', 'state', 'c1'],
  ['exec', '-e', 'A=1', 'c1', 'true'],
  ['exec', '--cap', 'CAP_NET_ADMIN', 'c1', 'true'],
  ['exec', '-g', '10', '-u', '1', 'c1', 'true'],
  ['exec', '--apparmor', 'p', 'c1', 'true'],
  ['exec', '--', 'c1', 'true'],
  ['exec', '--root', '/r', 'c1', 'true'],
  ['exec', '--log-format', 'json', 'c1', 'true'],
  ['exec', '--detach=false', 'c1', 'true'],
  ['exec', '--help'],
  ['exec'],
]

test('anything unusual is left to yargs', (t) => {
  for (const args of LEFT_TO_YARGS) t.is(parseFast(args), undefined, args.join(' '))
})

test('the shapes left to yargs still work through the real entry point', async (t) => {
  // A sample: the fallback is what every other CLI spec already exercises through runCli.
  const help = await cli(['--help'])
  t.is(help.code, 0)
  t.regex(help.stdout, /Commands:/)
  const sandbox = await cli(['run', '--', 'true'])
  t.like(sandbox.calls.at(-1), { op: 'run', id: 'lxts-abababab' })
})
