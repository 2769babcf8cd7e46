/** Hooks without containers: stdin, argv0, env, timeout, failure policy; and their validation. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'

import { validateConfig } from '../../ts/config/validate.js'
import { LxtsError } from '../../ts/errors.js'
import { runHook, runHooks, type HookState } from '../../ts/lifecycle/hooks.js'

const state: HookState = { ociVersion: '1.2.0', id: 'c1', status: 'created', pid: 42, bundle: '/b', annotations: { a: 'b' } }

function dir(t: { teardown: (f: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'lxts-hook-unit-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

test('a hook gets the state on stdin, args[0] as argv0 and exactly its env', async (t) => {
  const d = dir(t)
  const script = `cat > ${d}/stdin; tr '\\0' ' ' < /proc/$$/cmdline > ${d}/argv; env > ${d}/env`
  await runHook('prestart', 0, { path: '/bin/sh', args: ['hook-zero', '-c', script], env: ['A=1', 'B=two=2'] }, state)
  t.deepEqual(JSON.parse(readFileSync(join(d, 'stdin'), 'utf8')), state)
  t.regex(readFileSync(join(d, 'argv'), 'utf8'), /^hook-zero -c /)
  const env = readFileSync(join(d, 'env'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('PWD=') && !l.startsWith('SHLVL=') && !l.startsWith('_='))
  t.deepEqual(env.sort(), ['A=1', 'B=two=2'])
})

test('a hook that does not read stdin still succeeds', async (t) => {
  await t.notThrowsAsync(runHook('poststart', 0, { path: '/bin/true' }, state))
})

test('failures name the hook: exit status with output, signal, timeout, missing path', async (t) => {
  const exit = await t.throwsAsync(runHook('prestart', 1, { path: '/bin/sh', args: ['sh', '-c', 'echo nope >&2; exit 4'] }, state), { instanceOf: LxtsError })
  t.is(exit?.code, 'ERR_LXTS_HOOK')
  t.is(exit?.field, 'hooks.prestart[1]')
  t.regex(exit?.message ?? '', /exited with status 4: nope/)
  const sig = await t.throwsAsync(runHook('prestart', 0, { path: '/bin/sh', args: ['sh', '-c', 'kill -TERM $$'] }, state))
  t.regex(sig?.message ?? '', /killed by SIGTERM/)
  const t0 = Date.now()
  const slow = await t.throwsAsync(runHook('createRuntime', 0, { path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }, state))
  t.regex(slow?.message ?? '', /timed out after 1 s/)
  t.true(Date.now() - t0 < 5000)
  const missing = await t.throwsAsync(runHook('prestart', 0, { path: '/no/such/hook' }, state))
  t.regex(missing?.message ?? '', /\/no\/such\/hook.*could not be run/)
})

test('prestart stops at the first failure; poststop warns and runs the rest', async (t) => {
  const d = dir(t)
  const log = (n: string) => ({ path: '/bin/sh', args: ['sh', '-c', `echo ${n} >> ${d}/log`] })
  const fail = { path: '/bin/false' }
  await t.throwsAsync(runHooks('prestart', { prestart: [log('a'), fail, log('b')] }, state))
  t.is(readFileSync(join(d, 'log'), 'utf8'), 'a\n')
  const warnings: string[] = []
  await runHooks('poststop', { poststop: [fail, log('c'), fail, log('d')] }, state, (e) => warnings.push(e.field ?? ''))
  t.is(readFileSync(join(d, 'log'), 'utf8'), 'a\nc\nd\n')
  t.deepEqual(warnings, ['hooks.poststop[0]', 'hooks.poststop[2]'])
})

const base = (): Record<string, unknown> => ({
  ociVersion: '1.2.0',
  root: { path: 'rootfs' },
  linux: { namespaces: [{ type: 'mount' }] },
})

test('hooks and seccomp validation name each bad field', (t) => {
  const fields = (edit: (c: Record<string, unknown>) => void): string[] => {
    const c = base()
    edit(c)
    return validateConfig(c).map((i) => i.field)
  }
  t.deepEqual(fields((c) => (c['hooks'] = { prestart: [{ path: 'rel' }, { path: '/x', timeout: 0 }, { path: '/y', env: ['NOEQ'] }] })), [
    'hooks.prestart[0].path',
    'hooks.prestart[1].timeout',
    'hooks.prestart[2].env[0]',
  ])
  t.deepEqual(fields((c) => (c['hooks'] = { poststop: [{ path: '/bin/true', args: ['true'], timeout: 5 }] })), [])
  const sec = (s: unknown) => fields((c) => ((c['linux'] as Record<string, unknown>)['seccomp'] = s))
  t.deepEqual(sec({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'], flags: ['SECCOMP_FILTER_FLAG_LOG'], syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] }] }), [])
  t.deepEqual(sec({ defaultAction: 'NOPE', syscalls: [{ names: [], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: -1, op: 'X' }] }] }), [
    'linux.seccomp.defaultAction',
    'linux.seccomp.syscalls[0].names',
    'linux.seccomp.syscalls[0].args[0].index',
    'linux.seccomp.syscalls[0].args[0].value',
    'linux.seccomp.syscalls[0].args[0].op',
  ])
})
