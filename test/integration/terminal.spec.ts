/**
 * Terminals on real containers: `process.terminal` with a console socket (a python receiver
 * gets the pty master with SCM_RIGHTS, as an engine would), `run -t` driven from an outer
 * pty (python's pty module), the library's lxts-owned terminal, and hostile rootfs links.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { CLI, describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { OUTER, python, RECEIVER } from '../helpers/pty.js'
import { Runtime } from '../../ts/index.js'

const h = harness(test)

h.it('a console socket receives a working pty master: tty, size, output, exit', async (t) => {
  const b = h.bundle(['sh'], (c) => (c.process.terminal = true))
  const sock = join(b.dir, 'console.sock')
  const rx = python(['-c', RECEIVER, sock, 'tty; stty size; echo $((6*7))X; exit\n'])
  while (!existsSync(sock)) await new Promise((r) => setTimeout(r, 20))
  const c = await h.cli(['create', '--bundle', b.dir, '--console-socket', sock, b.id])
  t.is(c.code, 0, describe(c))
  const s = await h.cli(['start', b.id])
  t.is(s.code, 0, describe(s))
  const r = await rx
  t.regex(r.out, /NAME \/dev\/pts\/ptmx FDS 1 ISATTY True/, r.out + r.err)
  t.regex(r.out, /\/dev\/(pts\/0|console)\r*\n/, r.out)
  t.regex(r.out, /11 55\r*\n/, r.out)
  t.regex(r.out, /42X/, r.out)
  const d = await h.cli(['delete', b.id])
  t.is(d.code, 0, describe(d))
})

h.it('terminal: true without a console socket from create is ERR_LXTS_USAGE', async (t) => {
  const b = h.bundle(['sh'], (c) => (c.process.terminal = true))
  const r = await h.cli(['create', '--bundle', b.dir, b.id])
  t.not(r.code, 0)
  t.regex(r.stderr, /ERR_LXTS_USAGE/, describe(r))
  t.regex(r.stderr, /process\.terminal/, describe(r))
  t.false(existsSync(join(h.root(), b.id)))
})

h.it('run -t from a terminal: a real tty of the outer size, resize follows, status and mode restored', async (t) => {
  const b = h.bundle(['sh'])
  const steps = [
    ['', 'tty; stty size; echo $((1+1))Z\n', null],
    ['2Z', 'stty size; echo $((2+2))Z\n', [30, 100]],
    ['4Z', 'exit 7\n', null],
  ]
  const r = await python(['-c', OUTER, JSON.stringify(steps), process.execPath, CLI, '--root', h.root(), 'run', '-t', '--bundle', b.dir, b.id])
  const res = JSON.parse(r.out.trim().split('\n').pop() ?? '{}') as { status: number; same: boolean; out: string }
  t.regex(res.out, /\/dev\/pts\/0\r*\n/, res.out + r.err)
  t.regex(res.out, /24 80\r*\n[^]*2Z/, res.out)
  t.regex(res.out, /30 100\r*\n[^]*4Z/, res.out)
  t.is(res.status, 7, res.out)
  t.true(res.same, 'the outer terminal mode is restored')
  t.false(existsSync(join(h.root(), b.id)))
})

h.it('library: terminal: true exposes the master as a stream with resize', async (t) => {
  const b = h.bundle(['sh'])
  const rt = new Runtime({ root: h.root() })
  const c = await rt.create(b.id, { bundle: b.dir, terminal: true })
  const term = c.terminal
  if (term === undefined) return t.fail('no terminal')
  let out = ''
  term.on('data', (d: Buffer) => (out += d.toString()))
  await c.resize(77, 13)
  await c.start()
  term.write('stty size; echo $((5*5))Q; exit 3\n')
  const st = await c.wait()
  await new Promise((r) => setTimeout(r, 200))
  term.destroy()
  await c.delete()
  t.is(st.exitCode, 3)
  t.regex(out, /13 77\r*\n/, out)
  t.regex(out, /25Q/, out)
})

h.it('a /dev/console symlink in the rootfs does not redirect the console bind onto the host', async (t) => {
  const b = h.bundle(['sh'], (c) => {
    c.process.terminal = true
    // no tmpfs on /dev: the image's own /dev is used, with the planted link
    c.mounts = c.mounts.filter((m) => m.destination !== '/dev')
    c.root.readonly = false
  })
  const victim = join(b.dir, 'victim')
  writeFileSync(victim, 'host file\n')
  mkdirSync(join(b.rootfs, 'dev'), { recursive: true })
  rmSync(join(b.rootfs, 'dev/console'), { force: true })
  symlinkSync(victim, join(b.rootfs, 'dev/console'))
  const sock = join(b.dir, 'c.sock')
  const rx = python(['-c', RECEIVER, sock, 'echo hi > /dev/console; ls -l /dev/console; exit\n'])
  while (!existsSync(sock)) await new Promise((r) => setTimeout(r, 20))
  const c = await h.cli(['create', '--bundle', b.dir, '--console-socket', sock, b.id])
  t.is(c.code, 0, describe(c))
  t.is((await h.cli(['start', b.id])).code, 0)
  const r = await rx
  t.regex(r.out, /crw/, r.out)
  t.is(readFileSync(victim, 'utf8'), 'host file\n')
  t.is((await h.cli(['delete', b.id])).code, 0)
})

h.it('a /dev/pts symlink in the rootfs is refused, leaving nothing', async (t) => {
  const b = h.bundle(['sh'], (c) => {
    c.process.terminal = true
    c.mounts = c.mounts.filter((m) => m.destination !== '/dev')
    c.root.readonly = false
  })
  mkdirSync(join(b.rootfs, 'dev/elsewhere'), { recursive: true })
  rmSync(join(b.rootfs, 'dev/pts'), { recursive: true, force: true })
  symlinkSync('elsewhere', join(b.rootfs, 'dev/pts'))
  const sock = join(b.dir, 'c.sock')
  const rx = python(['-c', RECEIVER, sock, 'exit\n'], 5000)
  while (!existsSync(sock)) await new Promise((r) => setTimeout(r, 20))
  const c = await h.cli(['create', '--bundle', b.dir, '--console-socket', sock, b.id])
  t.not(c.code, 0)
  t.regex(c.stderr, /ERR_LXTS_UNSAFE_PATH/, describe(c))
  t.false(existsSync(join(h.root(), b.id)))
  await rx
})
