import test from 'ava'
import { haltExecArgs } from '../../ts/cli/exec-argv.js'

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
