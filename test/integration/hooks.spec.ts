/**
 * OCI hooks on real containers: when each kind runs (createRuntime during create, prestart
 * during start before the process, poststart before start returns, poststop during delete),
 * the state each sees on stdin, args[0]/env/timeout, and what a failure does (fatal for
 * createRuntime/prestart with nothing left behind, a warning for poststart/poststop), and the
 * createContainer/startContainer hooks the container init runs itself.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
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

/** A host script (absent from the rootfs) recording what a createContainer hook sees. */
function hostScript(dir: string): Hook {
  const path = join(dir, 'cc.sh')
  writeFileSync(
    path,
    `#!/bin/sh\nout=$1\ncat > $out.json\nhostname > $out.host\nreadlink /proc/self/ns/mnt > $out.mnt\ns=$(sed 's/.*"status":"\\([a-z]*\\)".*/\\1/' $out.json)\necho "createContainer $s" >> ${dir}/log\n`,
    { mode: 0o755 },
  )
  return { path, args: ['cc.sh', join(dir, 'cc')] }
}

/** A startContainer hook: the container's own /bin/sh, writing into /shared (which exists only in the container). */
const inContainer: Hook = {
  path: '/bin/sh',
  args: ['sh', '-c', `cat > /shared/sc.json; hostname > /shared/sc.host; readlink /proc/self/ns/mnt > /shared/sc.mnt; s=$(sed 's/.*"status":"\\([a-z]*\\)".*/\\1/' /shared/sc.json); echo "startContainer $s" >> /shared/log`],
}

function nsOf(pid: number): string {
  return readlinkSync(`/proc/${pid}/ns/mnt`)
}

h.it('createContainer runs before pivot_root in the container namespaces, startContainer in the container before the process', async (t) => {
  const dir = logDir(t)
  const b = loggingBundle(dir, {
    createRuntime: [logHook(dir, 'createRuntime')],
    createContainer: [hostScript(dir)],
    prestart: [logHook(dir, 'prestart')],
    startContainer: [inContainer],
    poststart: [logHook(dir, 'poststart')],
  })
  ok(t, await h.cli(['create', '-b', b.dir, b.id]))
  t.deepEqual(readLog(dir), ['createRuntime creating', 'createContainer creating'], 'both create hooks ran during create, createRuntime first')
  const state = JSON.parse((await h.cli(['state', b.id])).stdout) as { pid: number }
  const cc = JSON.parse(readFileSync(join(dir, 'cc.json'), 'utf8')) as Record<string, unknown>
  t.is(cc['id'], b.id)
  t.is(cc['bundle'], b.dir)
  t.is(cc['pid'], state.pid, 'createContainer sees the init pid as the host sees it')
  t.is(readFileSync(join(dir, 'cc.host'), 'utf8').trim(), 'lxts-test', "createContainer sees the container's hostname")
  t.is(readFileSync(join(dir, 'cc.mnt'), 'utf8').trim(), nsOf(state.pid), "createContainer runs in the container's mount namespace")
  t.not(nsOf(state.pid), nsOf(process.pid))
  t.false(existsSync(join(dir, 'sc.json')), 'startContainer has not run yet')

  ok(t, await h.cli(['start', b.id]))
  await waitFor(() => (readLog(dir).includes('ran') ? true : undefined))
  const log = readLog(dir)
  t.deepEqual(log.slice(0, 4), ['createRuntime creating', 'createContainer creating', 'prestart created', 'startContainer created'], log.join(' | '))
  t.true(log.indexOf('ran') > log.indexOf('startContainer created'), `the process ran after startContainer: ${log.join(' | ')}`)
  t.true(log.includes('poststart running'), log.join(' | '))
  const sc = JSON.parse(readFileSync(join(dir, 'sc.json'), 'utf8')) as Record<string, unknown>
  t.is(sc['pid'], state.pid)
  t.is(sc['id'], b.id)
  t.is(readFileSync(join(dir, 'sc.host'), 'utf8').trim(), 'lxts-test')
  t.is(readFileSync(join(dir, 'sc.mnt'), 'utf8').trim(), nsOf(state.pid), "startContainer runs in the container's mount namespace")
  ok(t, await h.cli(['delete', '--force', b.id]))
})

h.it('a failing startContainer hook fails start naming it, the process never runs and the container is gone', async (t) => {
  const dir = logDir(t)
  const b = loggingBundle(dir, { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat >/dev/null; echo sc-failed >> /shared/log; exit 3'] }, inContainer] })
  ok(t, await h.cli(['create', '-b', b.dir, b.id]))
  const r = await h.cli(['start', b.id])
  t.not(r.code, 0, describe(r))
  t.regex(r.stderr, /ERR_LXTS_HOOK|hooks\.startContainer\[0\] \(\/bin\/sh\) exited with status 3/)
  t.regex(r.stderr, /hooks\.startContainer\[0\] \(\/bin\/sh\) exited with status 3/)
  t.deepEqual(readLog(dir), ['sc-failed'], 'no later hook and no process ran')
  t.not((await h.cli(['state', b.id])).code, 0, 'the container was removed')
  t.false(existsSync(join(h.root(), b.id)))
})

h.it('a startContainer hook past its timeout is killed and fails start; a missing one fails with its path', async (t) => {
  const dir = logDir(t)
  const b = loggingBundle(dir, { startContainer: [{ path: '/bin/sleep', args: ['sleep', '20'], timeout: 1 }] })
  ok(t, await h.cli(['create', '-b', b.dir, b.id]))
  const t0 = Date.now()
  const r = await h.cli(['start', b.id])
  t.not(r.code, 0, describe(r))
  t.regex(r.stderr, /hooks\.startContainer\[0\] \(\/bin\/sleep\) timed out after 1 s/)
  t.true(Date.now() - t0 < 10_000, 'start did not wait for the hook to finish on its own')
  t.deepEqual(readLog(dir), [], 'the process never ran')
  t.false(existsSync(join(h.root(), b.id)))

  const m = loggingBundle(dir, { startContainer: [{ path: join(dir, 'cc.sh') }] })
  writeFileSync(join(dir, 'cc.sh'), '#!/bin/sh\nexit 0\n', { mode: 0o755 })
  ok(t, await h.cli(['create', '-b', m.dir, m.id]))
  const r2 = await h.cli(['start', m.id])
  t.not(r2.code, 0, 'a host-only path is not found inside the container')
  t.regex(r2.stderr, /hooks\.startContainer\[0\] .*could not be run: execve: No such file/)
  t.false(existsSync(join(h.root(), m.id)))
})

h.it('a failing or timed-out createContainer hook fails create and leaves nothing', async (t) => {
  const dir = logDir(t)
  const b = loggingBundle(dir, { createContainer: [failHook(dir, 'cc')] })
  const r = await h.cli(['create', '-b', b.dir, b.id])
  t.not(r.code, 0, describe(r))
  t.regex(r.stderr, /hooks\.createContainer\[0\] \(\/bin\/sh\) exited with status 3/)
  t.false(existsSync(join(h.root(), b.id)), 'no state dir')

  const s = loggingBundle(dir, { createContainer: [{ path: '/bin/sleep', args: ['sleep', '20'], timeout: 1 }] })
  const t0 = Date.now()
  const r2 = await h.cli(['create', '-b', s.dir, s.id])
  t.not(r2.code, 0, describe(r2))
  t.regex(r2.stderr, /hooks\.createContainer\[0\] \(\/bin\/sleep\) timed out after 1 s/)
  t.true(Date.now() - t0 < 10_000)
  t.false(existsSync(join(h.root(), s.id)), 'no state dir')
  t.deepEqual(readLog(dir), ['cc failed'], 'no process ran')
})

// `run` without prestart/poststart hooks: the monitor reads exec.fifo itself (startOnCreate).
h.it('run: the monitor starts the process itself; createContainer and startContainer still run first, in order', async (t) => {
  const dir = logDir(t)
  const b = h.bundle(['sh', '-c', 'echo ran >> /shared/log; exit 6'], (c) => {
    c.mounts.push({ destination: '/shared', type: 'bind', source: dir, options: ['rbind', 'rw'] })
    c['hooks'] = {
      createRuntime: [logHook(dir, 'createRuntime')],
      startContainer: [{ path: '/bin/sh', args: ['sh', '-c', `cat >/dev/null; echo startContainer >> /shared/log`] }],
      poststop: [logHook(dir, 'poststop')],
    }
  })
  const r = await h.cli(['run', '-b', b.dir, b.id])
  t.is(r.code, 6, describe(r))
  t.deepEqual(readLog(dir), ['createRuntime creating', 'startContainer', 'ran', 'poststop stopped'])
  t.false(existsSync(join(h.root(), b.id)))
})

h.it('run: a failing startContainer hook fails run naming it, the process never runs and nothing is left', async (t) => {
  const dir = logDir(t)
  const b = loggingBundle(dir, { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat >/dev/null; echo sc-failed >> /shared/log; exit 3'] }] })
  const r = await h.cli(['run', '-b', b.dir, b.id])
  t.not(r.code, 0, describe(r))
  t.regex(r.stderr, /hooks\.startContainer\[0\] \(\/bin\/sh\) exited with status 3/)
  t.regex(r.stderr, /ERR_LXTS_HOOK/)
  t.deepEqual(readLog(dir), ['sc-failed'], 'the process never ran')
  t.false(existsSync(join(h.root(), b.id)))
})

h.it('run with a poststart hook keeps the start in Node: poststart sees the process running', async (t) => {
  const dir = logDir(t)
  const b = h.bundle(['sh', '-c', 'echo ran >> /shared/log; sleep 1'], (c) => {
    c.mounts.push({ destination: '/shared', type: 'bind', source: dir, options: ['rbind', 'rw'] })
    c['hooks'] = { poststart: [logHook(dir, 'poststart')] }
  })
  const r = await h.cli(['run', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  t.deepEqual(readLog(dir).sort(), ['poststart running', 'ran'])
})
