/**
 * `lxts exec` on real containers: same namespaces and cgroups as the init, user/cwd/env/caps,
 * fd hygiene, exit statuses, the engine form (--process --detach --pid-file), and refusals.
 */
import { closeSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { processAlive, processesOf } from '../helpers/bundle.js'
import { describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { done as doneIn, running as runningIn } from '../helpers/running.js'
import { readAll } from '../helpers/stream.js'
import { waitFor } from '../helpers/wait.js'
import { Runtime } from '../../ts/index.js'

const h = harness(test)

const running = (t: ExecutionContext): ReturnType<typeof runningIn> => runningIn(h, t)
const done = (t: ExecutionContext, id: string): Promise<void> => doneIn(h, t, id)

h.it('exec lands in the init\'s pid, net, mount, uts, ipc namespaces and cgroups', async (t) => {
  const c = await running(t)
  const pidFile = join(c.dir, 'exec.pid')
  const r = await h.cli(['exec', '-d', '--pid-file', pidFile, c.id, '--', 'sleep', '1000'])
  t.is(r.code, 0, describe(r))
  const text = readFileSync(pidFile, 'utf8')
  t.regex(text, /^\d+$/, 'pid file without a trailing newline')
  const pid = Number(text)
  t.true(processAlive(pid))
  for (const ns of ['pid', 'net', 'mnt', 'uts', 'ipc', 'cgroup', 'user']) {
    t.is(readlinkSync(`/proc/${pid}/ns/${ns}`), readlinkSync(`/proc/${c.pid}/ns/${ns}`), `${ns} namespace`)
  }
  t.is(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync(`/proc/${c.pid}/cgroup`, 'utf8'), 'same cgroups')
  t.true(processesOf(c.id).includes(pid))
  await done(t, c.id)
  t.false(processAlive(pid), 'delete --force takes the exec\'d process too')
})

h.it('exec -u 1000:1000 --cwd -e, exit status, and fds 0,1,2 only', async (t) => {
  const c = await running(t)
  const r = await h.cli(['exec', '-u', '1000:1000', '--cwd', '/tmp', '-e', 'FOO=bar', '-e', 'PATH=/bin', c.id, '--', 'sh', '-c', 'id -u; id -g; pwd; echo $FOO $PATH; ls /proc/$$/fd; exit 3'])
  t.is(r.code, 3, describe(r))
  // no pipe in the shell: a pipeline's fds would show up in /proc/$$/fd
  t.deepEqual(r.stdout.trim().split('\n'), ['1000', '1000', '/tmp', 'bar /bin', '0', '1', '2'])
  await done(t, c.id)
})

h.it('exec --cap adds to bounding/effective/permitted, never inheritable; default is the container\'s set', async (t) => {
  const c = await running(t)
  const caps = async (extra: string[]): Promise<Record<string, bigint>> => {
    const r = await h.cli(['exec', ...extra, c.id, '--', 'grep', '^Cap', '/proc/self/status'])
    t.is(r.code, 0, describe(r))
    return Object.fromEntries(r.stdout.trim().split('\n').map((l) => { const [k, v] = l.split(/:\s+/); return [k ?? '', BigInt(`0x${v ?? '0'}`)] }))
  }
  const NET_RAW = 1n << 13n
  const base = await caps([])
  t.is(base['CapEff'], 0x20000420n, 'AUDIT_WRITE, KILL, NET_BIND_SERVICE as the config says')
  const more = await caps(['--cap', 'CAP_NET_RAW'])
  for (const k of ['CapBnd', 'CapEff', 'CapPrm']) t.is(more[k], 0x20000420n | NET_RAW, k)
  t.is(more['CapInh'], 0n, 'never inheritable (CVE-2022-29162)')
  await done(t, c.id)
})

h.it('exec of a missing binary fails with 127 and leaves no process', async (t) => {
  const c = await running(t)
  const r = await h.cli(['exec', c.id, '--', '/no/such/binary'])
  t.is(r.code, 127, describe(r))
  t.regex(r.stderr, /ERR_LXTS_EXEC_NOT_FOUND/)
  const d = await h.cli(['exec', '-d', c.id, '--', 'nope-not-here'])
  t.is(d.code, 127, `detached exec reports the error too: ${describe(d)}`)
  t.deepEqual(processesOf(c.id), [c.pid], 'only the init is left')
  await done(t, c.id)
})

h.it('exec --process FILE --detach --pid-file (the engine form)', async (t) => {
  const c = await running(t)
  const proc = join(c.dir, 'process.json')
  writeFileSync(proc, JSON.stringify({ terminal: false, user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'echo $X > /dev/shm/out; sleep 1000'], env: ['X=from-process', 'PATH=/bin'], cwd: '/', noNewPrivileges: true }))
  const pidFile = join(c.dir, 'p.pid')
  const r = await h.cli(['exec', '--process', proc, '--detach', '--pid-file', pidFile, c.id])
  t.is(r.code, 0, describe(r))
  const pid = Number(readFileSync(pidFile, 'utf8'))
  t.true(processAlive(pid))
  const out = await waitFor(async () => {
    const x = await h.cli(['exec', c.id, '--', 'cat', '/dev/shm/out'])
    return x.stdout.trim() === 'from-process' ? x.stdout : undefined
  }, 5000, 100)
  t.truthy(out, 'the process ran with its own env')
  await done(t, c.id)
})

h.it('exec into a stopped container fails with ERR_LXTS_INVALID_STATE, with -t too', async (t) => {
  const b = h.bundle(['true'])
  t.is((await h.cli(['run', '--keep', '-b', b.dir, b.id])).code, 0)
  const r = await h.cli(['exec', b.id, '--', 'true'])
  t.not(r.code, 0)
  t.regex(r.stderr, /ERR_LXTS_INVALID_STATE/, describe(r))
  const tty = await h.cli(['exec', '-t', b.id, '--', 'true'])
  t.regex(tty.stderr, /ERR_LXTS_INVALID_STATE/, describe(tty))
  t.is((await h.cli(['delete', b.id])).code, 0)
})

h.it('exec --preserve-fds 1 passes the caller\'s fd 3 on, as fd 3', async (t) => {
  const c = await running(t)
  const file = join(c.dir, 'passed.txt')
  writeFileSync(file, 'through fd 3\n')
  const fd = openSync(file, 'r')
  try {
    const r = await h.cli(['exec', '--preserve-fds', '1', c.id, '--', 'sh', '-c', 'ls /proc/$$/fd; cat <&3'], { extraFds: [fd] })
    t.is(r.code, 0, describe(r))
    // (ls first: busybox sh runs cat in-process and keeps a saved copy of fd 3 afterwards)
    t.deepEqual(r.stdout.trim().split('\n'), ['0', '1', '2', '3', 'through fd 3'])
  } finally {
    closeSync(fd)
  }
  await done(t, c.id)
})

h.it('library: Container.exec with piped stdio, overrides and the exit status', async (t) => {
  const c = await running(t)
  const container = await new Runtime({ root: h.root() }).get(c.id)
  const p = await container.exec({ args: ['sh', '-c', 'echo "$A $(id -u)"; exit 5'], env: ['A=lib'], user: { uid: 7, gid: 7 } }, { stdio: ['ignore', 'pipe', 'inherit'] })
  t.true(p.pid > 0)
  const out = readAll(p.stdio[1])
  const exit = await p.wait()
  t.is(await out, 'lib 7\n')
  t.deepEqual(exit, { exitCode: 5, signal: null })
  await done(t, c.id)
})

h.it('exec into a user-namespaced container joins its user namespace first', async (t) => {
  const b = h.bundle(['sleep', '1000'], (c) => {
    c.linux.namespaces.push({ type: 'user' })
    c.linux['uidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
    c.linux['gidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
  })
  execFileSync('chown', ['-R', '-h', '100000:100000', b.rootfs])
  t.is((await h.cli(['run', '-d', '-b', b.dir, b.id], { timeout: 15_000 })).code, 0)
  const r = await h.cli(['exec', '-u', '5', b.id, '--', 'sh', '-c', 'id -u; cat /proc/self/uid_map'])
  t.is(r.code, 0, describe(r))
  t.deepEqual(r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')), ['5', '0 100000 65536'])
  await done(t, b.id)
})
