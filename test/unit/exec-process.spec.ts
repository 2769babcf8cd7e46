/** How `exec` builds the process: overrides on the container's own, engine JSON whole, capabilities. */
import test from 'ava'
import { addCapabilities, execProcess, mergeEnv } from '../../ts/lifecycle/exec.js'
import { parseUser } from '../../ts/cli/commands/exec.js'
import type { OciProcess } from '../../ts/config/types.js'

const base: OciProcess = {
  user: { uid: 0, gid: 0, additionalGids: [5] },
  args: ['sleep', '1000'],
  env: ['PATH=/bin', 'A=1'],
  cwd: '/',
  capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: ['CAP_CHOWN'] },
  noNewPrivileges: true,
}

test('overrides replace the container\'s fields; env entries replace same-named ones', (t) => {
  const p = execProcess(base, { args: ['id'], env: ['A=2', 'B=3'], cwd: '/tmp' }, {})
  t.deepEqual(p.args, ['id'])
  t.deepEqual(p.env, ['PATH=/bin', 'A=2', 'B=3'])
  t.is(p.cwd, '/tmp')
  t.deepEqual(p.user, base.user)
  t.true(p.noNewPrivileges)
  t.deepEqual(mergeEnv(['X=1', 'Y=2'], ['X=9']), ['Y=2', 'X=9'])
})

test('complete: the engine\'s process as is, nothing inherited', (t) => {
  const p = execProcess(base, { args: ['true'], user: { uid: 1, gid: 1 }, cwd: '/' }, { complete: true })
  t.deepEqual(p.env, [])
  t.is(p.capabilities, undefined)
  t.is(p.noNewPrivileges, undefined)
})

test('--cap: bounding, effective, permitted; ambient only when inheritable has it; never inheritable', (t) => {
  const c = addCapabilities(base.capabilities, ['net_raw', 'CAP_CHOWN'])
  for (const set of ['bounding', 'effective', 'permitted'] as const) t.deepEqual(c[set], ['CAP_KILL', 'CAP_NET_RAW', 'CAP_CHOWN'], set)
  t.deepEqual(c.inheritable, ['CAP_CHOWN'], 'inheritable unchanged (CVE-2022-29162)')
  t.deepEqual(c.ambient, ['CAP_CHOWN'])
  t.deepEqual(base.capabilities?.bounding, ['CAP_KILL'], 'the saved config is not mutated')
  t.throws(() => addCapabilities(undefined, ['CAP_NOPE']), { code: 'ERR_LXTS_USAGE' } as never)
})

test('bad input: empty args, relative cwd, terminal; -u parsing', (t) => {
  t.throws(() => execProcess(base, { args: [] }, {}), { code: 'ERR_LXTS_USAGE' } as never)
  t.throws(() => execProcess(base, { args: ['x'], cwd: 'tmp' }, {}), { code: 'ERR_LXTS_USAGE' } as never)
  t.true(execProcess(base, { args: ['x'], terminal: true }, {}).terminal, 'a terminal is kept (exec -t)')
  t.true(execProcess(base, { args: ['x'] }, { terminal: true }).terminal, 'the terminal option sets it')
  t.false(execProcess({ ...base, terminal: true } as typeof base, { args: ['x'] }, {}).terminal, 'the container\'s own terminal is not inherited')
  t.throws(() => execProcess(base, { args: ['x'], terminal: true, consoleSize: { width: -1, height: 2 } }, {}), { code: 'ERR_LXTS_USAGE' } as never)
  t.deepEqual(parseUser('1000'), { uid: 1000, gid: 0 })
  t.deepEqual(parseUser('7:8'), { uid: 7, gid: 8 })
  t.throws(() => parseUser('nobody'), { code: 'ERR_LXTS_USAGE' } as never)
})
