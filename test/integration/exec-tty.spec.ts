/**
 * `lxts exec -t` on real containers: the pty master sent to an engine's console socket (a
 * python receiver, as for `create`), the lxts-owned terminal driven from an outer pty
 * (python's pty module), the library's `terminal: true`, refusals, and where the tty
 * process lands (the init's namespaces, a session of its own with the pty as controlling tty).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { processAlive, processesOf } from '../helpers/bundle.js'
import { CLI, describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { done as doneIn, running as runningIn } from '../helpers/running.js'
import { OUTER, python, receiver } from '../helpers/pty.js'
import { waitFor } from '../helpers/wait.js'
import { Runtime } from '../../ts/index.js'

const h = harness(test)

const running = (t: ExecutionContext): ReturnType<typeof runningIn> => runningIn(h, t)
const done = (t: ExecutionContext, id: string): Promise<void> => doneIn(h, t, id)

/** No exec-*.sock left in the state directory. */
function noOwnSockets(t: ExecutionContext, id: string): void {
  t.deepEqual(readdirSync(join(h.root(), id)).filter((f) => f.endsWith('.sock')), [], 'the lxts-owned console socket is gone')
}

h.it('exec -t --console-socket: the receiver gets a working pty master of the container\'s devpts; the exit status is the process\'s', async (t) => {
  const c = await running(t)
  const sock = join(c.dir, 'exec-console.sock')
  const rx = await receiver(sock, 'tty; stty size; ls /dev/pts; exit 5\n')
  const r = await h.cli(['exec', '-t', '--console-socket', sock, c.id, '--', 'sh'])
  const got = await rx.done
  t.is(r.code, 5, describe(r))
  t.regex(got.out, /NAME \/dev\/pts\/ptmx FDS 1 ISATTY True/, got.out + got.err)
  const pts = /(\/dev\/pts\/(\d+))\r*\n/.exec(got.out)
  t.truthy(pts, got.out)
  t.regex(got.out, /11 55\r*\n/, got.out)
  // the pts is numbered in the container's own devpts: its listing holds that number (and ptmx)
  t.regex(got.out, new RegExp(`\\b${pts?.[2] ?? 'x'}\\b[^]*ptmx|ptmx[^]*\\b${pts?.[2] ?? 'x'}\\b`), got.out)
  t.is(r.stdout, '', 'the process writes to its pty, not to the CLI\'s stdout')
  t.deepEqual(processesOf(c.id), [c.pid], 'only the init is left')
  await done(t, c.id)
})

h.it('exec -t from a terminal: a pts of the outer size, resize follows, status and terminal mode restored', async (t) => {
  const c = await running(t)
  const steps = [
    ['', 'tty; stty size; echo $((1+1))Z\n', null],
    ['2Z', 'stty size; echo $((2+2))Z\n', [30, 100]],
    ['4Z', 'exit 7\n', null],
  ]
  const r = await python(['-c', OUTER, JSON.stringify(steps), process.execPath, CLI, '--root', h.root(), 'exec', '-t', c.id, '--', 'sh'])
  const res = JSON.parse(r.out.trim().split('\n').pop() ?? '{}') as { status: number; same: boolean; out: string }
  t.regex(res.out, /\/dev\/pts\/\d+\r*\n/, res.out + r.err)
  t.regex(res.out, /24 80\r*\n[^]*2Z/, res.out)
  t.regex(res.out, /30 100\r*\n[^]*4Z/, res.out)
  t.is(res.status, 7, res.out + r.err)
  t.true(res.same, 'the outer terminal mode is restored')
  noOwnSockets(t, c.id)
  t.deepEqual(processesOf(c.id), [c.pid])
  await done(t, c.id)
})

h.it('exec -t with stdin not a terminal still allocates the pty (as runc)', async (t) => {
  const c = await running(t)
  const r = await h.cli(['exec', '-t', c.id, '--', 'sh', '-c', 'tty; echo $((3*3))T; exit 6'])
  t.is(r.code, 6, describe(r))
  t.regex(r.stdout, /\/dev\/pts\/\d+\r*\n/, describe(r))
  t.regex(r.stdout, /9T\r\n/, 'output went through a pty (onlcr: \\r\\n)')
  noOwnSockets(t, c.id)
  await done(t, c.id)
})

h.it('exec -t -d without a console socket, or a console socket without a terminal, is ERR_LXTS_USAGE and starts nothing', async (t) => {
  const c = await running(t)
  const d = await h.cli(['exec', '-t', '-d', c.id, '--', 'sleep', '100'])
  t.not(d.code, 0)
  t.regex(d.stderr, /ERR_LXTS_USAGE/, describe(d))
  t.regex(d.stderr, /console-socket/, describe(d))
  const proc = join(c.dir, 'tty-process.json')
  writeFileSync(proc, JSON.stringify({ terminal: true, args: ['sleep', '100'], cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin'] }))
  const p = await h.cli(['exec', '--process', proc, '-d', c.id])
  t.not(p.code, 0)
  t.regex(p.stderr, /ERR_LXTS_USAGE/, describe(p))
  const s = await h.cli(['exec', '--console-socket', join(c.dir, 'nope.sock'), c.id, '--', 'sleep', '100'])
  t.not(s.code, 0)
  t.regex(s.stderr, /ERR_LXTS_USAGE/, describe(s))
  t.deepEqual(processesOf(c.id), [c.pid], 'nothing was started')
  await done(t, c.id)
})

h.it('exec --process (terminal: true) -d --console-socket --pid-file: same namespaces as PID 1, its own session, the pty its controlling terminal', async (t) => {
  const c = await running(t)
  const sock = join(c.dir, 'engine-console.sock')
  const rx = await receiver(sock, '')
  const proc = join(c.dir, 'tty-process.json')
  writeFileSync(proc, JSON.stringify({ terminal: true, args: ['sleep', '100'], cwd: '/', user: { uid: 1000, gid: 1000 }, env: ['PATH=/bin'] }))
  const pidFile = join(c.dir, 'tty.pid')
  const r = await h.cli(['exec', '--process', proc, '-d', '--console-socket', sock, '--pid-file', pidFile, c.id])
  t.is(r.code, 0, describe(r))
  const pid = Number(readFileSync(pidFile, 'utf8'))
  t.true(processAlive(pid))
  for (const ns of ['pid', 'net', 'mnt', 'uts', 'ipc', 'cgroup', 'user']) {
    t.is(readlinkSync(`/proc/${pid}/ns/${ns}`), readlinkSync(`/proc/${c.pid}/ns/${ns}`), `${ns} namespace`)
  }
  t.is(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync(`/proc/${c.pid}/cgroup`, 'utf8'), 'same cgroups')
  // stat: pid (comm) state ppid pgrp session tty_nr
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  t.is(Number(f[3]), pid, 'a session leader (setsid)')
  t.true(Number(f[4]) >> 8 >= 136 && Number(f[4]) >> 8 <= 143, `a pts as controlling terminal (tty_nr ${f[4]})`)
  for (const fd of [0, 1, 2]) t.regex(readlinkSync(`/proc/${pid}/fd/${fd}`), /^\/dev\/pts\/\d+$/, `fd ${fd}`)
  t.deepEqual(readdirSync(`/proc/${pid}/fd`).sort(), ['0', '1', '2'], 'no console socket or master kept')
  t.is(statSync(`/proc/${pid}/fd/0`).uid, 1000, 'the slave belongs to the process\'s user')
  process.kill(pid, 'SIGKILL')
  const got = await rx.done
  t.regex(got.out, /NAME \/dev\/pts\/ptmx FDS 1/, got.out + got.err)
  t.truthy(await waitFor(() => !processAlive(pid) || undefined, 5000, 50))
  await done(t, c.id)
})

h.it('library: exec with terminal: true exposes the master as a stream with resize', async (t) => {
  const c = await running(t)
  const rt = new Runtime({ root: h.root() })
  const ctr = await rt.get(c.id)
  const handle = await ctr.exec({ args: ['sh'], consoleSize: { width: 66, height: 9 } }, { terminal: true })
  const term = handle.terminal
  if (term === undefined) return t.fail('no terminal')
  let out = ''
  term.on('data', (d: Buffer) => (out += d.toString()))
  term.write('stty size; echo $((5*5))Q; read x; stty size; exit 3\n')
  await waitFor(() => out.includes('25Q') || undefined, 10_000, 50)
  await handle.resize(77, 13)
  term.write('go\n')
  const st = await handle.wait()
  await new Promise((r) => setTimeout(r, 200))
  term.destroy()
  t.is(st.exitCode, 3)
  t.regex(out, /9 66\r*\n[^]*25Q[^]*13 77\r*\n/, out)
  noOwnSockets(t, c.id)
  await done(t, c.id)
})

h.it('exec -t into a user-namespaced container: the pty comes from its devpts and belongs to the mapped user', async (t) => {
  const b = h.bundle(['sleep', '1000'], (c) => {
    c.linux.namespaces.push({ type: 'user' })
    c.linux['uidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
    c.linux['gidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
  })
  execFileSync('chown', ['-R', '-h', '100000:100000', b.rootfs])
  t.is((await h.cli(['run', '-d', '-b', b.dir, b.id], { timeout: 15_000 })).code, 0)
  const r = await h.cli(['exec', '-t', '-u', '5', b.id, '--', 'sh', '-c', 'tty; id -u; stat -c "%u" $(tty); exit 4'])
  t.is(r.code, 4, describe(r))
  t.regex(r.stdout, /^\/dev\/pts\/\d+\r\n5\r\n5\r\n$/, describe(r))
  await done(t, b.id)
})
