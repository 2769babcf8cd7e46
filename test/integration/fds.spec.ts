/**
 * File descriptors crossing into the container (CVE-2016-9962, CVE-2024-21626): the process gets
 * exactly 0, 1, 2 plus the ones asked for (`--preserve-fds`, socket activation's `LISTEN_FDS`),
 * and the init waiting in `created` holds only its stdio, the exec.fifo handle and allow-listed
 * fds (as runc's create.bats fd-leak test), seen from the host.
 */
import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { CLI, describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)
const sh = (script: string): string[] => ['sh', '-c', script]

/** fds of `sh -c` itself (`ls` of /proc/$$/fd: ls's own directory fd is not in it; no pipeline, whose fds would show). */
const OWN_FDS = 'ls /proc/$$/fd; echo ---'

/** The fd numbers `OWN_FDS` printed (the block before `---`), as "0 1 2". */
function fdsIn(stdout: string): string {
  return (stdout.split('---')[0] ?? '').split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number).sort((a, b) => a - b).join(' ')
}

h.it('run: the process holds exactly fds 0, 1, 2', async (t) => {
  const b = h.bundle(sh(OWN_FDS))
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  t.is(fdsIn(r.stdout), '0 1 2', describe(r))
})

h.it('the init waiting in created holds only stdio, the exec.fifo handle and a procfs handle (host view)', async (t) => {
  const b = h.bundle(['true'])
  const cr = await h.cli(['create', '-b', b.dir, b.id])
  t.is(cr.code, 0, describe(cr))
  const pid = (JSON.parse((await h.cli(['state', b.id])).stdout) as { pid: number }).pid
  const fds = readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b)
  const targets = fds.map((fd) => [fd, readlinkSync(`/proc/${pid}/fd/${fd}`)] as const)
  t.log(targets.map(([fd, l]) => `${fd} -> ${l}`).join('\n'))
  const stdio = new Set(targets.filter(([fd]) => fd <= 2).map(([, l]) => l))
  for (const [fd, link] of targets) {
    if (fd <= 2) continue
    const allowed = link === join(h.root(), b.id, 'exec.fifo') || link === '/proc' || link.endsWith('/exec.fifo')
    t.true(allowed, `fd ${fd} -> ${link} is not on the allow-list (stdio ${[...stdio].join(', ')})`)
  }
  t.true(fds.length <= 5, `at most 0,1,2 + fifo + procfs: ${fds.join(' ')}`)
  t.is((await h.cli(['delete', '--force', b.id])).code, 0)
})

h.it('--preserve-fds 2 adds exactly fds 3 and 4', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-fds-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const a = openSync(join(dir, 'a'), 'w+')
  const c = openSync(join(dir, 'c'), 'w+')
  t.teardown(() => {
    closeSync(a)
    closeSync(c)
  })
  const b = h.bundle(sh(OWN_FDS))
  const r = await h.cli(['run', '--rm', '--preserve-fds', '2', '-b', b.dir, b.id], { extraFds: [a, c] })
  t.is(r.code, 0, describe(r))
  t.is(fdsIn(r.stdout), '0 1 2 3 4', describe(r))
})

h.it('exec: the process holds exactly fds 0, 1, 2 (and not the helper control socket)', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  t.is((await h.cli(['run', '-d', '-b', b.dir, b.id])).code, 0)
  const r = await h.cli(['exec', b.id, '--', 'sh', '-c', OWN_FDS])
  t.is(fdsIn(r.stdout), '0 1 2', describe(r))
  t.is((await h.cli(['delete', '--force', b.id])).code, 0)
})

h.it('socket activation as runc: LISTEN_FDS=2 with LISTEN_PID of lxts passes fds 3, 4 and sets LISTEN_FDS=2 LISTEN_PID=1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-fds-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const l1 = openSync(join(dir, 'l1'), 'w+')
  const l2 = openSync(join(dir, 'l2'), 'w+')
  const out = openSync(join(dir, 'out'), 'w')
  const err = openSync(join(dir, 'err'), 'w')
  const b = h.bundle(sh(`${OWN_FDS}; echo "$LISTEN_FDS $LISTEN_PID"; readlink /proc/$$/fd/3; readlink /proc/$$/fd/4`), (c) => {
    c.mounts.push({ destination: '/fdsrc', type: 'bind', source: dir, options: ['rbind', 'ro'] })
  })
  // LISTEN_PID must be lxts's own pid: set by the shell that then execs node
  const child = spawn('sh', ['-c', 'LISTEN_PID=$$ LISTEN_FDS=2 exec "$0" "$@"', process.execPath, CLI, '--root', h.root(), 'run', '--rm', '-b', b.dir, b.id], {
    stdio: ['ignore', out, err, l1, l2],
  })
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
  for (const fd of [l1, l2, out, err]) closeSync(fd)
  const stdout = readFileSync(join(dir, 'out'), 'utf8')
  const stderr = readFileSync(join(dir, 'err'), 'utf8')
  t.is(code, 0, stderr)
  t.is(fdsIn(stdout), '0 1 2 3 4', stdout)
  const [env, ...links] = (stdout.split('---\n')[1] ?? '').trim().split('\n')
  t.is(env, '2 1', stdout)
  t.deepEqual(links.map((l) => l.replace(/^.*\//, '')), ['l1', 'l2'], stdout)
})

h.it('LISTEN_FDS for another pid is ignored (as go-systemd activation): only 0, 1, 2', async (t) => {
  const b = h.bundle(sh(`${OWN_FDS}; echo "[$LISTEN_FDS]"`))
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id], { env: { ...process.env, LISTEN_FDS: '2', LISTEN_PID: '1' } })
  t.is(r.code, 0, describe(r))
  t.is(fdsIn(r.stdout), '0 1 2', describe(r))
  t.regex(r.stdout, /---\n\[\]\n/, describe(r))
})
