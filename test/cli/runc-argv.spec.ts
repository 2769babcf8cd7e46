import test from 'ava'
import { haltExecArgs, joinStdinResources } from '../../ts/cli/runc-argv.js'

test('exec stops reading flags at the container id, as runc does', (t) => {
  t.deepEqual(haltExecArgs(['exec', 'c1', 'sh', '-c', 'echo hi']), ['exec', 'c1', '--', 'sh', '-c', 'echo hi'])
  t.deepEqual(haltExecArgs(['--root', '/r', 'exec', '-u', '1000', '-e', 'A=1', '--cap', 'CAP_KILL', 'c1', 'ls', '-l']), [
    '--root', '/r', 'exec', '-u', '1000', '-e', 'A=1', '--cap', 'CAP_KILL', 'c1', '--', 'ls', '-l',
  ])
  t.deepEqual(haltExecArgs(['exec', '--cwd=/tmp', '-t', 'c1', 'sh']), ['exec', '--cwd=/tmp', '-t', 'c1', '--', 'sh'])
})

test('exec without a command, with --, and other verbs are left alone', (t) => {
  const same = [
    ['exec', '--process', '/p.json', '--detach', '--pid-file', '/pid', 'c1'],
    ['exec', 'c1', '--', 'sh', '-c', 'x'],
    ['run', '--', 'sh', '-c', 'x'],
    ['kill', 'c1', 'KILL'],
    ['--log-format', 'json', 'state', 'exec'],
  ]
  for (const args of same) t.deepEqual(haltExecArgs(args), args)
})

test("update's --resources - (go-runc) becomes --resources=-; other verbs and values are left alone", (t) => {
  t.deepEqual(joinStdinResources(['--root', '/r', 'update', '--resources', '-', 'c1']), ['--root', '/r', 'update', '--resources=-', 'c1'])
  t.deepEqual(joinStdinResources(['update', '-r', '-', 'c1']), ['update', '-r=-', 'c1'])
  t.deepEqual(joinStdinResources(['update', '--resources', '/f.json', 'c1']), ['update', '--resources', '/f.json', 'c1'])
  t.deepEqual(joinStdinResources(['update', '--resources=-', 'c1']), ['update', '--resources=-', 'c1'])
  t.deepEqual(joinStdinResources(['cgroup', 'delete', '-r', '-', 'x']), ['cgroup', 'delete', '-r', '-', 'x'])
})
