/**
 * OCI hooks on real containers: when each kind runs (createRuntime during create, prestart
 * during start before the process, poststart before start returns, poststop during delete),
 * the state each sees on stdin, args[0]/env/timeout, and what a failure does (fatal for
 * createRuntime/prestart with nothing left behind, a warning for poststart/poststop).
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import type { Bundle, TestConfig } from '../helpers/bundle.js'
import { describe, type CliResult } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { waitFor } from '../helpers/wait.js'

const h = harness(test)

interface Hook {
  path: string
  args?: string[]
  env?: string[]
  timeout?: number
}

/** A host dir the hooks log into, also bind-mounted at /shared so the container can log too. */
function logDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-hooks-'))
  chmodSync(dir, 0o777)
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A hook that appends `<name> <status from stdin>` to `<dir>/log` and saves its stdin as `<dir>/<name>.json`. */
function logHook(dir: string, name: string, extra = ''): Hook {
  const script = `cat > ${dir}/${name}.json; s=$(sed 's/.*"status":"\\([a-z]*\\)".*/\\1/' ${dir}/${name}.json); echo "${name} $s" >> ${dir}/log; ${extra}`
  return { path: '/bin/sh', args: ['sh', '-c', script] }
}

function failHook(dir: string, name: string): Hook {
  return { path: '/bin/sh', args: ['sh', '-c', `cat >/dev/null; echo "${name} failed" >> ${dir}/log; echo "${name} says no" >&2; exit 3`] }
}

function readLog(dir: string): string[] {
  const f = join(dir, 'log')
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : []
}

/** A bundle whose process logs `ran` into the shared dir, then waits. */
function loggingBundle(dir: string, hooks: Record<string, Hook[]>, edit?: (c: TestConfig) => void): Bundle {
  return h.bundle(['sh', '-c', 'echo ran >> /shared/log; sleep 30'], (c) => {
    c.mounts.push({ destination: '/shared', type: 'bind', source: dir, options: ['rbind', 'rw'] })
    c['hooks'] = hooks
    edit?.(c)
  })
}

function ok(t: ExecutionContext, r: CliResult): void {
  t.is(r.code, 0, describe(r))
}

h.it('createRuntime, prestart, poststart and poststop run at their moments and see the right status', async (t) => {
  const dir = logDir(t)
  const b = loggingBundle(dir, {
    createRuntime: [logHook(dir, 'createRuntime')],
    prestart: [logHook(dir, 'prestart')],
    poststart: [logHook(dir, 'poststart')],
    poststop: [logHook(dir, 'poststop')],
  })
  ok(t, await h.cli(['create', '-b', b.dir, b.id]))
  t.deepEqual(readLog(dir), ['createRuntime creating'], 'only createRuntime ran during create, seeing "creating"')
  const created = JSON.parse(readFileSync(join(dir, 'createRuntime.json'), 'utf8')) as Record<string, unknown>
  t.is(created['id'], b.id)
  t.is(created['bundle'], b.dir)
  t.true(Number.isInteger(created['pid']) && (created['pid'] as number) > 0, 'createRuntime sees the init pid')

  ok(t, await h.cli(['start', b.id]))
  const afterStart = readLog(dir)
  t.is(afterStart[1], 'prestart created', 'prestart ran during start, before the process, seeing "created"')
  t.true(afterStart.includes('poststart running'), `poststart ran before start returned, seeing "running": ${afterStart.join(' | ')}`)
  await waitFor(() => (readLog(dir).includes('ran') ? true : undefined))
  t.true(readLog(dir).indexOf('ran') > 1, 'the process ran after prestart')
  t.false(readLog(dir).some((l) => l.startsWith('poststop')), 'poststop has not run yet')

  ok(t, await h.cli(['delete', '--force', b.id]))
  t.is(readLog(dir).at(-1), 'poststop stopped', 'poststop ran during delete, seeing "stopped"')
  const stopped = JSON.parse(readFileSync(join(dir, 'poststop.json'), 'utf8')) as Record<string, unknown>
  t.is(stopped['id'], b.id)
})

h.it('a hook gets args[0] as its argv[0], exactly its env, and hooks of a kind run in order', async (t) => {
  const dir = logDir(t)
  const argvHook: Hook = {
    path: '/bin/sh',
    args: ['my-hook-name', '-c', `tr '\\0' ' ' < /proc/$$/cmdline >> ${dir}/log; echo >> ${dir}/log; env | sort | tr '\\n' ' ' >> ${dir}/log; echo >> ${dir}/log`],
    env: ['FOO=bar', 'PATH=/usr/bin:/bin'],
  }
  const b = loggingBundle(dir, { prestart: [argvHook, logHook(dir, 'second')] })
  ok(t, await h.cli(['create', '-b', b.dir, b.id]))
  ok(t, await h.cli(['start', b.id]))
  const log = readLog(dir)
  t.regex(log[0] ?? '', /^my-hook-name -c /, 'argv[0] is args[0]')
  t.regex(log[1] ?? '', /FOO=bar/, 'env from the hook')
  t.notRegex(log[1] ?? '', /HOME=|LXTS|USER=/, 'nothing of the runtime environment leaks into the hook')
  t.is(log[2], 'second created', 'the second prestart hook ran after the first')
  ok(t, await h.cli(['delete', '--force', b.id]))
})

h.it('a failing prestart hook fails start, the process never runs and the container is gone', async (t) => {
  const dir = logDir(t)
  const b = loggingBundle(dir, { prestart: [failHook(dir, 'pre1'), logHook(dir, 'pre2')] })
  ok(t, await h.cli(['create', '-b', b.dir, b.id]))
  const r = await h.cli(['start', b.id])
  t.not(r.code, 0, describe(r))
  t.regex(r.stderr, /hooks\.prestart\[0\].*exited with status 3.*pre1 says no/s, 'the error names the hook and shows its output')
  t.deepEqual(readLog(dir), ['pre1 failed'], 'no later hook and no process ran')
  const s = await h.cli(['state', b.id])
  t.not(s.code, 0, 'the container was removed')
})

h.it('a prestart hook past its timeout is killed and fails start', async (t) => {
  const dir = logDir(t)
  const b = loggingBundle(dir, { prestart: [{ path: '/bin/sleep', args: ['sleep', '20'], timeout: 1 }] })
  ok(t, await h.cli(['create', '-b', b.dir, b.id]))
  const t0 = Date.now()
  const r = await h.cli(['start', b.id])
  t.not(r.code, 0, describe(r))
  t.regex(r.stderr, /timed out after 1 s/)
  t.true(Date.now() - t0 < 10_000, 'start did not wait for the hook to finish on its own')
  t.deepEqual(readLog(dir), [], 'the process never ran')
  t.not((await h.cli(['state', b.id])).code, 0)
})

h.it('failing poststart and poststop hooks only warn, and the remaining hooks still run', async (t) => {
  const dir = logDir(t)
  const b = loggingBundle(dir, {
    poststart: [failHook(dir, 'ps1'), logHook(dir, 'ps2')],
    poststop: [failHook(dir, 'pst1'), logHook(dir, 'pst2')],
  })
  ok(t, await h.cli(['create', '-b', b.dir, b.id]))
  const r = await h.cli(['start', b.id])
  ok(t, r)
  t.regex(r.stderr, /hooks\.poststart\[0\]/, 'the failure is reported as a warning')
  t.is((JSON.parse((await h.cli(['state', b.id])).stdout) as { status: string }).status, 'running')
  ok(t, await h.cli(['delete', '--force', b.id]))
  const log = readLog(dir)
  for (const l of ['ps1 failed', 'ps2 running', 'pst1 failed', 'pst2 stopped']) t.true(log.includes(l), `${l} in ${log.join(' | ')}`)
})

h.it('a failing createRuntime hook fails create and leaves nothing', async (t) => {
  const dir = logDir(t)
  const b = loggingBundle(dir, { createRuntime: [failHook(dir, 'cr')] })
  const r = await h.cli(['create', '-b', b.dir, b.id])
  t.not(r.code, 0, describe(r))
  t.regex(r.stderr, /hooks\.createRuntime\[0\]/)
  t.false(existsSync(join(h.root(), b.id)), 'no state dir')
})

h.it('a hook that cannot be executed fails with its path', async (t) => {
  const dir = logDir(t)
  const b = loggingBundle(dir, { prestart: [{ path: '/nonexistent/hook' }] })
  ok(t, await h.cli(['create', '-b', b.dir, b.id]))
  const r = await h.cli(['start', b.id])
  t.not(r.code, 0, describe(r))
  t.regex(r.stderr, /\/nonexistent\/hook/)
  t.not((await h.cli(['state', b.id])).code, 0)
})

h.it('createContainer and startContainer hooks are refused up front as unsupported', async (t) => {
  const dir = logDir(t)
  for (const kind of ['createContainer', 'startContainer']) {
    const b = loggingBundle(dir, { [kind]: [logHook(dir, kind)] })
    const r = await h.cli(['create', '-b', b.dir, b.id])
    t.not(r.code, 0, describe(r))
    t.regex(r.stderr, new RegExp(`hooks\\.${kind}`))
    t.false(existsSync(join(h.root(), b.id)))
  }
  t.deepEqual(readLog(dir), [])
})
