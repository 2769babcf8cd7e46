/**
 * Every argument vector container engines send (research anchors §6a) parses and reaches
 * the library with the right options, without containers.
 */
import test from 'ava'
import { join } from 'node:path'
import { cli, FakeLxtsError, stateOf, withTempDir } from './fake.js'

const ROOT = '/run/containerd/runc/k8s.io'
const LOG = ['--log', '/b/log.json', '--log-format', 'json']

test('containerd create: global flags before the verb, every create flag', async (t) => {
  const r = await withTempDir((dir) => cli([
    '--root', ROOT, '--log', join(dir, 'log.json'), '--log-format', 'json', '--debug', '--rootless=false',
    'create', '--bundle', '/b', '--pid-file', '/b/init.pid', '--console-socket', '/tmp/pty.sock',
    '--no-pivot', '--no-new-keyring', '--preserve-fds', '2', 'c1',
  ]))
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.calls, [
    { op: 'openRuntime', root: ROOT },
    {
      op: 'create',
      id: 'c1',
      options: {
        bundle: '/b',
        pidFile: '/b/init.pid',
        consoleSocket: '/tmp/pty.sock',
        noPivot: true,
        noNewKeyring: true,
        preserveFds: 2,
        monitor: false,
      },
    },
  ])
})

test('create without --bundle uses the current directory; relative paths resolve against it', async (t) => {
  const r = await cli(['create', '--pid-file', 'pid', 'c2'], {}, '/srv/b')
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.calls[1], {
    op: 'create',
    id: 'c2',
    options: { bundle: '/srv/b', pidFile: '/srv/b/pid', noPivot: false, noNewKeyring: false, preserveFds: 0, monitor: false },
  })
})

test('conmon create: -b short form and console socket', async (t) => {
  const r = await cli(['create', '-b', '/b', '--pid-file', '/p', '--no-pivot', '--console-socket', '/s', 'c3'])
  t.is(r.code, 0, r.stderr)
  t.like(r.calls[1], { op: 'create', id: 'c3', options: { bundle: '/b', pidFile: '/p', consoleSocket: '/s', noPivot: true } })
})

test('docker create argv', async (t) => {
  const r = await cli([
    '--root', '/var/run/docker/runtime-runc/moby', ...LOG,
    'create', '--bundle', '/b', '--pid-file', '/b/init.pid', '--console-socket', '/tmp/pty1/pty.sock', 'c4',
  ])
  t.is(r.code, 0, r.stderr)
  t.like(r.calls[0], { op: 'openRuntime', root: '/var/run/docker/runtime-runc/moby' })
})

test('--root=DIR (CRI-O style) and the default root', async (t) => {
  const crio = await cli(['--root=/run/crio-runtime', 'state', 'c1'], { states: [stateOf('c1')] })
  t.like(crio.calls[0], { op: 'openRuntime', root: '/run/crio-runtime' })
  const plain = await cli(['state', 'c1'], { states: [stateOf('c1')] })
  t.like(plain.calls[0], { op: 'openRuntime', root: '/run/lxts' })
})

test('start ID', async (t) => {
  const r = await cli(['--root', ROOT, ...LOG, 'start', 'c1'], { states: [stateOf('c1', 'created')] })
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.calls.slice(1), [{ op: 'get', id: 'c1' }, { op: 'start', id: 'c1' }])
})

test('kill [--all] ID SIGNUM (go-runc, podman) and names', async (t) => {
  const states = [stateOf('c1')]
  const cases: [string[], string | number, boolean][] = [
    [['kill', '--all', 'c1', '9'], 9, true],
    [['kill', 'c1', '15'], 15, false],
    [['kill', 'c1', 'KILL'], 'KILL', false],
    [['kill', 'c1', 'SIGUSR1'], 'SIGUSR1', false],
    [['kill', 'c1'], 'TERM', false],
    [['kill', '--signal', 'KILL', 'c1'], 'KILL', false],
    [['kill', '-s', '9', 'c1'], 9, false],
  ]
  for (const [args, signal, all] of cases) {
    const r = await cli(args, { states })
    t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    t.deepEqual(r.calls.at(-1), { op: 'kill', id: 'c1', signal, all }, args.join(' '))
  }
})

test('delete [--force] ID; --force of a missing container succeeds as with runc', async (t) => {
  const forced = await cli(['delete', '--force', 'c1'], { states: [stateOf('c1')] })
  t.is(forced.code, 0, forced.stderr)
  t.deepEqual(forced.calls.at(-1), { op: 'delete', id: 'c1', force: true })
  const short = await cli(['delete', '-f', 'c1'], { states: [stateOf('c1', 'stopped')] })
  t.deepEqual(short.calls.at(-1), { op: 'delete', id: 'c1', force: true })
  const gone = await cli(['delete', '--force', 'ghost'])
  t.is(gone.code, 0, gone.stderr)
  const missing = await cli(['delete', 'ghost'])
  t.is(missing.code, 1)
  t.regex(missing.stderr, /^lxts: container ghost does not exist \(ERR_LXTS_NOT_FOUND\)\n$/)
})

test('state ID prints the state JSON with two-space indent', async (t) => {
  const state = stateOf('c1')
  const r = await cli(['state', 'c1'], { states: [state] })
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout, `${JSON.stringify(state, null, 2)}\n`)
  t.deepEqual(JSON.parse(r.stdout), state)
})

test('list --format=json: an array, [] when empty', async (t) => {
  const empty = await cli(['--root', ROOT, 'list', '--format=json'])
  t.is(empty.stdout, '[]\n')
  const states = [stateOf('a'), stateOf('b', 'stopped')]
  const full = await cli(['list', '-f', 'json'], { states })
  t.deepEqual(JSON.parse(full.stdout), states)
})

test('list table has runc columns; stopped shows pid 0; -q prints ids', async (t) => {
  const states = [stateOf('a'), stateOf('b', 'stopped')]
  const table = await cli(['list'], { states })
  const lines = table.stdout.trimEnd().split('\n')
  t.deepEqual(lines[0]?.split(/\s+/), ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'])
  t.deepEqual(lines[1]?.split(/\s+/), ['a', '4242', 'running', '/bundles/a', '2026-01-01T00:00:00.000Z', 'root'])
  t.deepEqual(lines[2]?.split(/\s+/), ['b', '0', 'stopped', '/bundles/b', '2026-01-01T00:00:00.000Z', 'root'])
  const quiet = await cli(['list', '-q'], { states })
  t.is(quiet.stdout, 'a\nb\n')
})

test('runtime-tools create/start/state/kill/delete shapes', async (t) => {
  const states = [stateOf('rt')]
  for (const args of [
    ['create', '--bundle', '/b', '--pid-file', '/p', 'rt'],
    ['start', 'rt'],
    ['state', 'rt'],
    ['kill', '--signal', 'TERM', 'rt'],
    ['delete', 'rt'],
  ]) {
    const r = await cli(args, { states })
    t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
  }
})

test('verbs lxts does not implement (checkpoint, restore) and unknown verbs exit non-zero with a usage error', async (t) => {
  for (const args of [['checkpoint', '--image-path', '/tmp/x', 'c1'], ['restore', '--bundle', '/b', 'c1'], ['xyzzyq']]) {
    const r = await cli(args)
    t.is(r.code, 2, args.join(' '))
    t.regex(r.stderr, /^lxts: .*ERR_LXTS_USAGE/, args.join(' '))
    t.deepEqual(r.calls, [], 'the library is never reached')
  }
})

test('no verb, missing id, unknown flag: usage errors', async (t) => {
  for (const args of [[], ['create'], ['create', '--bogus', 'c1'], ['--log-format', 'xml', 'state', 'c1'], ['create', '--preserve-fds', '-1', 'c1']]) {
    const r = await cli(args)
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    t.deepEqual(r.calls, [])
  }
})

test('--systemd-cgroup and --rootless=true: create and run fail with ERR_LXTS_UNSUPPORTED naming the flag', async (t) => {
  for (const args of [
    ['--systemd-cgroup', 'create', '--bundle', '/b', 'c1'],
    ['--rootless', 'true', 'create', 'c1'],
    ['--rootless=true', 'run', '-b', '/b', 'c1'],
    ['--systemd-cgroup', 'run', '--', 'true'],
  ]) {
    const r = await cli(args)
    t.is(r.code, 1, args.join(' '))
    t.regex(r.stderr, /^lxts: --(systemd-cgroup|rootless)[= ].*not supported.*ERR_LXTS_UNSUPPORTED/, args.join(' '))
    t.false(r.calls.some((c) => c.op === 'create' || c.op === 'run'), 'nothing is created')
  }
})

test('--systemd-cgroup does not stop cleanup verbs; --rootless auto/false and --criu are accepted', async (t) => {
  const states = [stateOf('c1')]
  t.is((await cli(['--systemd-cgroup', 'delete', '--force', 'c1'], { states })).code, 0)
  t.is((await cli(['--systemd-cgroup', 'state', 'c1'], { states })).code, 0)
  t.is((await cli(['--rootless', 'auto', '--criu', '/usr/sbin/criu', 'create', 'c1'])).code, 0)
  t.is((await cli(['--rootless', 'maybe', 'state', 'c1'], { states })).code, 2)
})

test('library errors keep their code, path and syscall in the message', async (t) => {
  const error = new FakeLxtsError('ERR_LXTS_MOUNT', 'mount of /proc failed', { path: '/bundles/c1/rootfs/proc', syscall: 'mount', errno: 2 })
  const r = await cli(['create', 'c1'], { createError: error })
  t.is(r.code, 1)
  t.is(r.stderr, 'lxts: mount of /proc failed (ERR_LXTS_MOUNT, path /bundles/c1/rootfs/proc, ENOENT)\n')
})

test('exec failures map to 127/126', async (t) => {
  const notFound = await cli(['create', 'c1'], { createError: new FakeLxtsError('ERR_LXTS_EXEC_NOT_FOUND', 'exec /bin/nope: not found') })
  t.is(notFound.code, 127)
  const denied = await cli(['create', 'c1'], { createError: new FakeLxtsError('ERR_LXTS_EXEC_FAILED', 'exec /etc: permission denied') })
  t.is(denied.code, 126)
})
