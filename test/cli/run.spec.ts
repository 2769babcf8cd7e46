/** `lxts run`: sandbox vs bundle, foreground exit codes and cleanup, detached start. */
import test from 'ava'
import { cli, stateOf } from './fake.js'

test('run -- CMD is the sandbox: generated id, sandboxConfig, monitor, exit code, deleted after', async (t) => {
  const r = await cli(['run', '--', 'sh', '-c', 'exit 42'], {
    runStatus: { exitCode: 42, signal: null },
    states: [stateOf('lxts-abababab', 'stopped')],
  })
  t.is(r.code, 42, r.stderr)
  t.deepEqual(r.calls[0], { op: 'sandboxConfig', argv: ['sh', '-c', 'exit 42'], id: 'lxts-abababab', root: '/run/lxts' })
  const run = r.calls.find((c) => c.op === 'run')
  t.like(run, { op: 'run', id: 'lxts-abababab', options: { monitor: true, config: { process: { args: ['sh', '-c', 'exit 42'] } } } })
  t.false(run !== undefined && 'options' in run && 'bundle' in run.options, 'the sandbox has no bundle')
  t.is(r.calls.at(-1), run, 'Runtime.run itself deletes the container afterwards')
  t.deepEqual(r.signalScopes, { ignored: 1, restored: 1 }, 'signals are ignored only while waiting')
})

test('run ID -- CMD names the sandbox; --rm spelt out is the default', async (t) => {
  const r = await cli(['--root', '/tmp/r', 'run', '--rm', 'box', '--', 'cat'], { states: [stateOf('box', 'stopped')] })
  t.is(r.code, 0, r.stderr)
  t.like(r.calls[0], { op: 'sandboxConfig', id: 'box', root: '/tmp/r' })
  t.like(r.calls.at(-1), { op: 'run', id: 'box' })
})

test('a container killed by a signal exits 128+signal', async (t) => {
  const r = await cli(['run', '--', 'sleep', '100'], { runStatus: { exitCode: 137, signal: 9 } })
  t.is(r.code, 137)
})

test('run --keep creates, starts and waits itself, so the stopped container stays', async (t) => {
  const kept = await cli(['run', '--keep', '--', 'sh', '-c', 'exit 5'], { runStatus: { exitCode: 5, signal: null } })
  t.is(kept.code, 5, kept.stderr)
  t.deepEqual(
    kept.calls.slice(2).map((c) => c.op),
    ['create', 'start', 'wait'],
  )
  t.like(kept.calls[2], { op: 'create', options: { monitor: true } })
  t.deepEqual(kept.signalScopes, { ignored: 1, restored: 1 })
})

test('run -b DIR ID runs the bundle with every create flag', async (t) => {
  const r = await cli(['run', '-b', 'bundle', '--pid-file', '/p', '--no-pivot', '--preserve-fds', '1', 'c1'], {}, '/srv')
  t.is(r.code, 0, r.stderr)
  t.like(r.calls[1], { op: 'run', id: 'c1', options: { bundle: '/srv/bundle', pidFile: '/p', noPivot: true, preserveFds: 1, monitor: true } })
})

test('run ID without -b uses the current directory as the bundle', async (t) => {
  const r = await cli(['run', 'c1'], {}, '/srv/b')
  t.like(r.calls[1], { op: 'run', id: 'c1', options: { bundle: '/srv/b' } })
})

test('run -d creates (with monitor) and starts, then returns; a generated id is printed', async (t) => {
  const r = await cli(['run', '-d', '--', 'sleep', '10'])
  t.is(r.code, 0, r.stderr)
  t.like(r.calls.find((c) => c.op === 'create'), { op: 'create', id: 'lxts-abababab', options: { monitor: true } })
  t.deepEqual(r.calls.at(-1), { op: 'start', id: 'lxts-abababab' })
  t.is(r.stdout, 'lxts-abababab\n')
  t.deepEqual(r.signalScopes, { ignored: 0, restored: 0 })
  const named = await cli(['run', '-d', '-b', '/b', 'c1'])
  t.is(named.stdout, '', 'nothing printed for an id the caller chose')
})

test('run usage errors: no id and no command, -- CMD with --bundle, --keep with --rm, -d with --keep', async (t) => {
  for (const [args, code] of [
    [['run'], 2],
    [['run', '-b', '/b', 'c1', '--', 'sh'], 2],
    [['run', '--keep', '--rm', '--', 'sh'], 2],
    [['run', '-d', '--keep', '--', 'sh'], 2],
  ] as const) {
    const r = await cli([...args])
    t.is(r.code, code, `${args.join(' ')}: ${r.stderr}`)
    t.false(r.calls.some((c) => c.op === 'run' || c.op === 'create'), args.join(' '))
  }
})
