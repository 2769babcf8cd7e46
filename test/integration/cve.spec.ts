/**
 * Past runtime CVEs replayed against lxts. Each test is an attack that would escape if the
 * defence were missing, and checks the HOST-side effect (a binary's hash, a sentinel dir that
 * must stay empty, a host file that must keep its content, host mountinfo), not only what the
 * container reports. See docs/SECURITY.md for the CVE → test map.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, rmSync, statfsSync, symlinkSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { type Bundle, cgroupMounts } from '../helpers/bundle.js'
import { describe, type CliResult } from '../helpers/cli.js'
import { REPO } from '../helpers/env.js'
import { harness } from '../helpers/harness.js'
import { listening, receiver, SINK } from '../helpers/pty.js'

const h = harness(test)
const sh = (script: string): string[] => ['sh', '-c', script]
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex')

/** A host directory that must stay empty; removed after the test. */
function sentinelDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-sentinel-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Host mount points under `dir` (there must be none). */
function hostMountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((mp) => mp === dir || mp.startsWith(dir + '/'))
}

/** Nothing on the host side: the sentinel is empty and nothing is mounted on it. */
function assertUntouched(t: ExecutionContext, dir: string, what: string): void {
  t.deepEqual(readdirSync(dir), [], `${what}: nothing may appear in the host sentinel ${dir}`)
  t.deepEqual(hostMountsUnder(dir), [], `${what}: nothing may be mounted on the host sentinel`)
}

async function run(b: Bundle, timeout = 20_000): Promise<CliResult> {
  return h.cli(['run', '--rm', '-b', b.dir, b.id], { timeout })
}

/** A host process swapping `path` between a directory and a symlink to `target`, as fast as it can. */
function racer(t: ExecutionContext, path: string, target: string): ChildProcess {
  const script = `cd "$(dirname "$1")"; n=$(basename "$1"); mkdir -p "$n.d"; ln -sfn "$2" "$n.l"
    while :; do mv -Tf "$n" "$n.x" 2>/dev/null; mv -Tf "$n.l" "$n" 2>/dev/null; mv -Tf "$n" "$n.l" 2>/dev/null; mv -Tf "$n.x" "$n" 2>/dev/null; done`
  const child = spawn('bash', ['-c', script, 'racer', path, target], { stdio: 'ignore' })
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  return child
}

async function stopRacer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const done = new Promise((r) => child.once('exit', r))
  child.kill('SIGKILL')
  await done
}

// ---------- CVE-2019-5736: /proc/self/exe ----------

/** `OVERLAYFS_SUPER_MAGIC`: the helper runs from lxts's lower-only overlay (Linux 6.15, root). */
const OVERLAYFS = 0x794c7630

type Image = 'overlay' | 'memfd'

/**
 * `pid` runs from the helper's sealed `image`, which not even host root can write: the
 * lower-only overlay refuses to open it for writing, the sealed memfd refuses the write.
 */
function assertSealedImage(t: ExecutionContext, pid: number, image: Image, what: string): void {
  const exe = `/proc/${pid}/exe`
  if (image === 'overlay') {
    t.is(statfsSync(exe).type, OVERLAYFS, `${what} runs from the overlay image, not the host file (${readlinkSync(exe)})`)
    t.throws(() => openSync(exe, 'r+'), { code: 'EROFS' }, `${what}: its image refuses writes`)
    return
  }
  t.regex(readlinkSync(exe), /^\/memfd:lxts-helper/, `${what} runs from the sealed memfd copy`)
  const error = t.throws(() => {
    const fd = openSync(exe, 'r+')
    try {
      writeSync(fd, 'x')
    } finally {
      closeSync(fd)
    }
  })
  t.true(['ETXTBSY', 'EPERM'].includes((error as NodeJS.ErrnoException | undefined)?.code ?? ''), `${what}: its image refuses writes (${String(error)})`)
}

// The overlay is what this host (Linux >= 6.15, root) gets; `LXTS_HELPER_IMAGE=memfd` asks for
// the copy, which is also what a kernel without layers-as-fds gets.
for (const image of ['overlay', 'memfd'] as const) {
  const env = { ...process.env, LXTS_HELPER_IMAGE: image === 'memfd' ? 'memfd' : '' }

  h.it(`CVE-2019-5736 (${image}): /proc/self/exe as entrypoint, via exec, and /proc/1/exe of a created init opened for writing: host binaries unchanged`, async (t) => {
    const helper = join(REPO, 'lxts-helper')
    const before = { helper: sha(helper), node: sha(process.execPath) }
    const b = h.bundle(['/proc/self/exe'])
    const r = await h.cli(['run', '--rm', '-b', b.dir, b.id], { timeout: 20_000, env })
    t.false(r.timedOut, describe(r))
    // the created init is the sealed helper image (non-dumpable) until start: attack it from an exec'd process
    const c = h.bundle(['sleep', '1000'])
    t.is((await h.cli(['create', '-b', c.dir, c.id], { env })).code, 0)
    const pid = (JSON.parse((await h.cli(['state', c.id])).stdout) as { pid: number }).pid
    assertSealedImage(t, pid, image, 'the created init')
    const x = await h.cli(['exec', c.id, '--', '/proc/self/exe'], { timeout: 20_000, env })
    t.false(x.timedOut, describe(x))
    const attack = await h.cli(['exec', c.id, '--', 'sh', '-c',
      'for i in 1 2 3 4 5 6 7 8 9 10; do for p in /proc/1/exe /proc/[0-9]*/exe; do (printf x >> $p) 2>>/dev/shm/err && echo WROTE $p; done; done; sort -u /dev/shm/err'], { env })
    t.notRegex(attack.stdout, /WROTE/, describe(attack))
    t.regex(attack.stdout, /Permission denied|Text file busy|Operation not permitted|Read-only/i, `writes fail with EACCES/ETXTBSY/EPERM/EROFS: ${describe(attack)}`)
    t.is((await h.cli(['delete', '--force', c.id])).code, 0)
    t.deepEqual({ helper: sha(helper), node: sha(process.execPath) }, before, 'the host lxts-helper and node binaries are unchanged')
  })

  h.it(`CVE-2019-5736 (${image}): a helper started from its file on disk ($LXTS_HELPER) seals itself before anything else`, async (t) => {
    const c = h.bundle(['sleep', '1000'])
    t.is((await h.cli(['create', '-b', c.dir, c.id], { env: { ...env, LXTS_HELPER: join(REPO, 'lxts-helper') } })).code, 0)
    const pid = (JSON.parse((await h.cli(['state', c.id])).stdout) as { pid: number }).pid
    assertSealedImage(t, pid, image, 'the init of a helper spawned from disk')
    t.is((await h.cli(['delete', '--force', c.id])).code, 0)
  })
}

// ---------- CVE-2024-21626: cwd through a leaked fd ----------

h.it('CVE-2024-21626: process.cwd and exec --cwd = /proc/self/fd/N (3..10) are refused or stay inside the rootfs', async (t) => {
  const probe = 'cat /lxts-marker; cd ../../../..; ls /lxts-marker >/dev/null && readlink /proc/self/cwd; pwd -P'
  for (let n = 3; n <= 10; n++) {
    const b = h.bundle(sh(probe), (c) => {
      c.process.cwd = `/proc/self/fd/${n}`
    })
    const r = await run(b)
    t.notRegex(r.stdout + r.stderr, /unreachable/, `cwd fd ${n} must never be outside the root: ${describe(r)}`)
    if (r.code === 0) t.regex(r.stdout, new RegExp(`marker-${b.id}`), `landed inside its own rootfs: ${describe(r)}`)
    else t.regex(r.stderr, /ERR_LXTS_\w+/, describe(r))
  }
  const c = h.bundle(['sleep', '1000'])
  t.is((await h.cli(['run', '-d', '-b', c.dir, c.id])).code, 0)
  for (let n = 3; n <= 10; n++) {
    const r = await h.cli(['exec', '--cwd', `/proc/self/fd/${n}`, c.id, '--', 'sh', '-c', 'readlink /proc/self/cwd; cat ../../../../lxts-marker'])
    t.notRegex(r.stdout + r.stderr, /unreachable/, describe(r))
    if (r.code === 0) t.regex(r.stdout, new RegExp(`marker-${c.id}`), describe(r))
  }
  t.is((await h.cli(['delete', '--force', c.id])).code, 0)
})

// ---------- CVE-2021-30465 / CVE-2024-45310: symlink-exchange races on mount targets ----------

h.it('CVE-2021-30465: a mount destination that is a symlink out of the rootfs mounts inside', async (t) => {
  const sentinel = sentinelDir(t)
  const src = mkdtempSync(join(tmpdir(), 'lxts-src-'))
  t.teardown(() => rmSync(src, { recursive: true, force: true }))
  const b = h.bundle(sh('touch /data/pwned /deep/x/pwned; true'), (c) => {
    c.root.readonly = false
    c.mounts.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] })
    c.mounts.push({ destination: '/deep/x', type: 'bind', source: src, options: ['rbind'] })
  })
  symlinkSync(sentinel, join(b.rootfs, 'data'))
  symlinkSync('../../../../../../..' + sentinel, join(b.rootfs, 'deep'))
  const r = await run(b)
  t.log(describe(r))
  assertUntouched(t, sentinel, 'symlinked destinations')
})

h.it('CVE-2021-30465 / CVE-2024-45310: racing dir<->symlink swaps during 25 creates never mount or create anything on the host', async (t) => {
  const sentinel = sentinelDir(t)
  const b = h.bundle(sh('touch /vol/pwned /vol2/a/b/pwned 2>/dev/null; true'), (c) => {
    c.root.readonly = false
    c.mounts.push({ destination: '/vol', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] })
    // a target that does not exist yet: lxts must create /vol2/a/b inside the root while /vol2 flips
    c.mounts.push({ destination: '/vol2/a/b', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] })
  })
  mkdirSync(join(b.rootfs, 'vol'))
  mkdirSync(join(b.rootfs, 'vol2'))
  const r1 = racer(t, join(b.rootfs, 'vol'), sentinel)
  const r2 = racer(t, join(b.rootfs, 'vol2'), sentinel)
  const codes: (number | null)[] = []
  for (let i = 0; i < 25; i++) {
    const r = await h.cli(['run', '--rm', '-b', b.dir, b.id], { timeout: 20_000 })
    codes.push(r.code)
    if (r.code !== 0) t.regex(r.stderr, /ERR_LXTS_\w+/, describe(r))
  }
  await stopRacer(r1)
  await stopRacer(r2)
  t.log('exit codes', codes.join(','))
  assertUntouched(t, sentinel, 'racing creates')
  // leave the bundle's rootfs as plain dirs so the harness can remove it
  for (const n of ['vol', 'vol2']) for (const s of ['', '.x', '.d']) if (existsSync(join(b.rootfs, n + s))) t.pass()
})

// ---------- CVE-2019-19921 / CVE-2023-27561: /proc or /sys not a directory ----------

for (const target of ['proc', 'sys'] as const) {
  for (const kind of ['symlink', 'file'] as const) {
    h.it(`CVE-2019-19921/CVE-2023-27561: /${target} in the image as a ${kind} is refused, nothing on the host`, async (t) => {
      const sentinel = sentinelDir(t)
      const b = h.bundle(['true'])
      rmdirSync(join(b.rootfs, target))
      if (kind === 'symlink') symlinkSync(sentinel, join(b.rootfs, target))
      else writeFileSync(join(b.rootfs, target), 'not a dir\n')
      const r = await run(b)
      t.not(r.code, 0, `must be refused: ${describe(r)}`)
      t.regex(r.stderr, new RegExp(`/${target}`), `the refusal names /${target}: ${describe(r)}`)
      t.regex(r.stderr, /ERR_LXTS_\w+/, describe(r))
      assertUntouched(t, sentinel, `/${target} as a ${kind}`)
    })
  }
}

// ---------- CVE-2019-16884: a fake procfs on /proc ----------

h.it('CVE-2019-16884: a bind-mounted fake /proc tree is never written through (sysctl, masks)', async (t) => {
  const fake = sentinelDir(t)
  mkdirSync(join(fake, 'sys', 'kernel'), { recursive: true })
  mkdirSync(join(fake, 'self', 'attr'), { recursive: true })
  writeFileSync(join(fake, 'sys', 'kernel', 'shmmax'), 'FAKE\n')
  writeFileSync(join(fake, 'self', 'attr', 'exec'), 'FAKE\n')
  writeFileSync(join(fake, 'kcore'), 'FAKE\n')
  const before = execFileSync('find', [fake, '-type', 'f', '-exec', 'cat', '{}', '+'], { encoding: 'utf8' })
  const b = h.bundle(['true'], (c) => {
    c.mounts = c.mounts.map((m) => (m.destination === '/proc' ? { destination: '/proc', type: 'bind', source: fake, options: ['rbind'] } : m))
    c.linux['sysctl'] = { 'kernel.shmmax': '12345678' }
  })
  const r = await run(b)
  t.log(describe(r))
  const after = execFileSync('find', [fake, '-type', 'f', '-exec', 'cat', '{}', '+'], { encoding: 'utf8' })
  t.is(after, before, 'the fake proc files on the host are unchanged')
  t.deepEqual(hostMountsUnder(fake), [], 'nothing masked onto the host tree')
  // the sysctl write goes through an fstatfs-checked procfs handle: a fake tree is refused
  t.not(r.code, 0, describe(r))
  t.regex(r.stderr, /not on procfs.*ERR_LXTS_UNSAFE_PATH/, describe(r))
})

// ---------- /dev and /dev/null as symlinks: CVE-2025-31133, CVE-2026-41579 ----------

h.it('CVE-2026-41579: /dev as a symlink to a host dir (with and without a /dev tmpfs) gets no devices on the host', async (t) => {
  for (const withTmpfs of [true, false]) {
    const sentinel = sentinelDir(t)
    const b = h.bundle(sh('ls /dev >/dev/null; true'), (c) => {
      c.root.readonly = false
      if (!withTmpfs) c.mounts = c.mounts.filter((m) => !m.destination.startsWith('/dev'))
    })
    rmdirSync(join(b.rootfs, 'dev'))
    symlinkSync(sentinel, join(b.rootfs, 'dev'))
    const r = await run(b)
    t.log(`tmpfs=${withTmpfs}`, describe(r))
    assertUntouched(t, sentinel, `/dev symlink (tmpfs ${withTmpfs})`)
  }
})

h.it('CVE-2025-31133: /dev/null as a symlink to a host file is never bound over masked paths', async (t) => {
  const dir = sentinelDir(t)
  const victim = join(dir, 'victim')
  writeFileSync(victim, 'HOST\n')
  const b = h.bundle(sh('echo PWNED > /proc/kcore; echo PWNED > /proc/timer_list; cat /proc/kcore; true'), (c) => {
    c.root.readonly = false
    c.mounts = c.mounts.filter((m) => !m.destination.startsWith('/dev'))
  })
  mkdirSync(join(b.rootfs, 'dev'), { recursive: true })
  symlinkSync(victim, join(b.rootfs, 'dev', 'null'))
  const r = await run(b)
  t.log(describe(r))
  t.notRegex(r.stdout, /HOST/, 'the host file is not visible over a masked path')
  t.is(readFileSync(victim, 'utf8'), 'HOST\n', 'the host file is unchanged')
  t.deepEqual(readdirSync(dir), ['victim'])
  t.deepEqual(hostMountsUnder(dir), [])
})

// ---------- CVE-2025-52565: /dev/console and the pty ----------

/** A bundle with a terminal and the image's own /dev (no /dev tmpfs, no devpts unless `devpts`), writable. */
function ttyBundle(args: string[], devpts: boolean): Bundle {
  return h.bundle(args, (c) => {
    c.process.terminal = true
    c.root.readonly = false
    c.mounts = c.mounts.filter((m) => m.destination !== '/dev' && (devpts || !m.destination.startsWith('/dev')))
  })
}

/** A host file that must keep its content; returns its path (in a sentinel dir removed after the test). */
function victimFile(t: ExecutionContext): { dir: string; file: string } {
  const dir = sentinelDir(t)
  const file = join(dir, 'victim')
  writeFileSync(file, 'HOST\n')
  return { dir, file }
}

function assertVictim(t: ExecutionContext, v: { dir: string; file: string }, what: string): void {
  t.is(readFileSync(v.file, 'utf8'), 'HOST\n', `${what}: the host file is unchanged`)
  t.true(lstatSync(v.file).isFile(), `${what}: the host file is still a regular file`)
  t.deepEqual(readdirSync(v.dir), ['victim'], `${what}: nothing else appears next to it`)
  t.deepEqual(hostMountsUnder(v.dir), [], `${what}: nothing is mounted on the host file`)
}

h.it('CVE-2025-52565: /dev/console and /dev/ptmx as symlinks to a host file (absolute and ../ relative): a fresh pty bind, the host file untouched', async (t) => {
  for (const relative of [false, true]) {
    const v = victimFile(t)
    const b = ttyBundle(['sh'], true)
    const link = relative ? `../../../../../../../../..${v.file}` : v.file
    mkdirSync(join(b.rootfs, 'dev'), { recursive: true })
    for (const n of ['console', 'ptmx']) {
      rmSync(join(b.rootfs, 'dev', n), { force: true })
      symlinkSync(link, join(b.rootfs, 'dev', n))
    }
    const sock = join(b.dir, 'c.sock')
    const rx = await receiver(sock, 'echo PWNED > /dev/console; echo PWNED > /dev/ptmx; ls -l /dev/console; tty; exit\n')
    const c = await h.cli(['create', '--bundle', b.dir, '--console-socket', sock, b.id])
    t.is(c.code, 0, describe(c))
    t.is((await h.cli(['start', b.id])).code, 0)
    const r = await rx.done
    t.regex(r.out, /NAME \/dev\/pts\/ptmx FDS 1 ISATTY True/, r.out + r.err)
    t.regex(r.out, /crw\S* .*\/dev\/console\r*\n/, `the container's /dev/console is the pty: ${r.out}`)
    t.is((await h.cli(['delete', '--force', b.id])).code, 0)
    assertVictim(t, v, relative ? 'relative links' : 'absolute links')
  }
})

h.it('CVE-2025-52565: a /dev/pts that is not devpts (a planted 5:2 ptmx node, a ptmx symlink to a host file) is refused, leaving nothing', async (t) => {
  for (const plant of ['node', 'symlink'] as const) {
    const v = victimFile(t)
    const b = ttyBundle(['sh', '-c', 'echo PWNED > /dev/console'], false)
    const pts = join(b.rootfs, 'dev', 'pts')
    mkdirSync(pts, { recursive: true })
    if (plant === 'node') execFileSync('mknod', [join(pts, 'ptmx'), 'c', '5', '2'])
    else symlinkSync(v.file, join(pts, 'ptmx'))
    symlinkSync(v.file, join(b.rootfs, 'dev', 'console'))
    const sock = join(b.dir, 'c.sock')
    const sink = await listening(SINK, sock, [], 30_000)
    const c = await h.cli(['create', '--bundle', b.dir, '--console-socket', sock, b.id])
    const got = await sink.stop()
    t.not(c.code, 0, describe(c))
    t.regex(c.stderr, /ERR_LXTS_UNSAFE_PATH/, describe(c))
    t.regex(c.stderr, /process\.terminal|ptmx/, describe(c))
    t.notRegex(got.out, /GOT \S* [1-9]/, `no master was sent: ${got.out}`)
    t.false(existsSync(join(h.root(), b.id)), 'no state dir')
    rmSync(join(pts, 'ptmx'), { force: true })
    assertVictim(t, v, `planted ptmx ${plant}`)
  }
})

h.it('CVE-2025-52565: a host process swapping /dev/console (file <-> symlink to a host file) and /dev/pts (dir <-> symlink) during 15 creates never touches the host file', async (t) => {
  const v = victimFile(t)
  const b = ttyBundle(['sh', '-c', 'echo PWNED > /dev/console; echo PWNED > /dev/pts/ptmx; true'], true)
  const dev = join(b.rootfs, 'dev')
  mkdirSync(join(dev, 'pts'), { recursive: true })
  writeFileSync(join(dev, 'console'), '')
  // the racers' symlink targets: the host file itself, and a host dir whose ptmx is the host file
  const fake = join(sentinelDir(t), 'pts')
  mkdirSync(fake)
  symlinkSync(v.file, join(fake, 'ptmx'))
  const consoleRacer = spawn(
    'bash',
    ['-c', 'cd "$1"; ln -sfn "$2" console.l; : > console.f; while :; do mv -Tf console.l console; ln -sfn "$2" console.l; mv -Tf console.f console; : > console.f; done', 'racer', dev, v.file],
    { stdio: 'ignore' },
  )
  t.teardown(() => void consoleRacer.kill('SIGKILL'))
  const ptsRacer = racer(t, join(dev, 'pts'), fake)
  const sock = join(b.dir, 'c.sock')
  const sink = await listening(SINK, sock, [], 120_000)
  const codes: (number | null)[] = []
  const errors = new Set<string>()
  for (let i = 0; i < 15; i++) {
    const c = await h.cli(['create', '--bundle', b.dir, '--console-socket', sock, b.id], { timeout: 20_000 })
    codes.push(c.code)
    if (c.code !== 0) {
      t.regex(c.stderr, /ERR_LXTS_\w+/, describe(c))
      errors.add(c.stderr.trim())
      t.false(existsSync(join(h.root(), b.id)), `a failed create leaves nothing: ${describe(c)}`)
      continue
    }
    await h.cli(['start', b.id])
    const d = await h.cli(['delete', '--force', b.id])
    t.is(d.code, 0, describe(d))
  }
  await stopRacer(consoleRacer)
  await stopRacer(ptsRacer)
  const got = await sink.stop()
  t.log('exit codes', codes.join(','), 'masters received', (got.out.match(/GOT \S* [1-9]/g) ?? []).length)
  t.log([...errors].join('\n'))
  t.true(codes.includes(0), 'some creates got through the race (else the attack was never tried)')
  assertVictim(t, v, 'racing creates')
  t.deepEqual(readdirSync(fake), ['ptmx'], 'nothing appears in the fake pts dir')
  t.deepEqual(hostMountsUnder(fake), [], 'nothing is mounted on the fake pts dir')
})

// ---------- CVE-2023-25809: a read-only cgroupfs bind stays read-only ----------

h.it('CVE-2023-25809: host /sys/fs/cgroup bound rbind,ro stays read-only in every submount', async (t) => {
  const name = `lxts-test-rocheck-${process.pid}`
  const dirs = cgroupMounts().filter((m) => m.path.startsWith('/sys/fs/cgroup/')).map((m) => m.path)
  t.teardown(() => {
    for (const d of dirs) if (existsSync(join(d, name))) rmdirSync(join(d, name))
  })
  const inner = dirs.map((d) => d.replace('/sys/fs/cgroup', '/hostcg'))
  const b = h.bundle(sh(`for d in ${inner.join(' ')}; do mkdir $d/${name} 2>&1 && echo MADE $d; done; true`), (c) => {
    c.mounts.push({ destination: '/hostcg', type: 'bind', source: '/sys/fs/cgroup', options: ['rbind', 'ro'] })
    // with these only `ro` stands between the container and the host's cgroups (the attack's premise)
    for (const set of ['bounding', 'effective', 'permitted'] as const) c.process.capabilities[set].push('CAP_SYS_ADMIN', 'CAP_DAC_OVERRIDE')
  })
  const r = await run(b)
  t.is(r.code, 0, describe(r))
  t.notRegex(r.stdout, /MADE/, `every cgroup hierarchy must be read-only inside: ${describe(r)}`)
  t.regex(r.stdout, /Read-only file system/, describe(r))
  for (const d of dirs) t.false(existsSync(join(d, name)), `no cgroup ${name} created on the host under ${d}`)
})

// ---------- CVE-2022-29162: inheritable capabilities ----------

h.it('CVE-2022-29162: inheritable capabilities are empty for run, exec and exec --cap', async (t) => {
  const r = await run(h.bundle(['grep', 'CapInh', '/proc/self/status']))
  t.regex(r.stdout, /CapInh:\s+0+\n/, describe(r))
  const c = h.bundle(['sleep', '1000'])
  t.is((await h.cli(['run', '-d', '-b', c.dir, c.id])).code, 0)
  for (const extra of [[], ['--cap', 'CAP_SYS_ADMIN']]) {
    const x = await h.cli(['exec', ...extra, c.id, '--', 'grep', 'CapInh', '/proc/self/status'])
    t.regex(x.stdout, /CapInh:\s+0+\n/, describe(x))
  }
  t.is((await h.cli(['delete', '--force', c.id])).code, 0)
})

h.it('a 4 KiB or newline hook path fails cleanly with ERR_LXTS_HOOK and leaves nothing', async (t) => {
  for (const path of [`/${'h'.repeat(4096)}`, '/bin/tr\nue']) {
    const b = h.bundle(['true'], (c) => {
      c['hooks'] = { createRuntime: [{ path }] }
    })
    const r = await h.cli(['create', '-b', b.dir, b.id])
    t.not(r.code, 0, describe(r))
    t.regex(r.stderr, /ERR_LXTS_(HOOK|INVALID_CONFIG)/, describe(r))
    t.false(existsSync(join(h.root(), b.id)), 'nothing left')
  }
})

// keep renameSync referenced for racers written by hand when debugging
void renameSync
