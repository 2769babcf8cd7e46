/**
 * What the process sees inside a container started with `lxts run --rm`: pid 1, hostname,
 * network, mounts, user, capabilities, fds, stdio, env, cwd, exit status, readonly and masked paths.
 */
import { existsSync } from 'node:fs'
import { basename } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { cgroupMounts, type TestConfig } from '../helpers/bundle.js'
import { describe, type CliOptions, type CliResult } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { waitFor } from '../helpers/wait.js'

const h = harness(test)

/** `lxts run --rm -b <bundle> <id>` with `args`; asserts the exit code (0 unless given). */
async function inside(
  t: ExecutionContext,
  args: string[],
  edit?: (c: TestConfig) => void,
  opts: CliOptions & { code?: number } = {},
): Promise<CliResult> {
  const b = h.bundle(args, edit)
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id], opts)
  t.is(r.code, opts.code ?? 0, describe(r))
  return r
}

const sh = (script: string): string[] => ['sh', '-c', script]

/** Capability mask of the given bit numbers, as /proc/<pid>/status prints it. */
function capMask(bits: number[]): string {
  return bits.reduce((m, b) => m | (1n << BigInt(b)), 0n).toString(16).padStart(16, '0')
}

h.it('the process is PID 1 and sees the configured hostname', async (t) => {
  const r = await inside(t, sh('echo $$; hostname'), (c) => (c.hostname = 'lxts-box'))
  t.deepEqual(r.stdout.trim().split('\n'), ['1', 'lxts-box'])
})

h.it('a new network namespace holds only lo, and lo is up', async (t) => {
  const r = await inside(t, sh('ls /sys/class/net; echo ---; cat /sys/class/net/lo/flags; echo ---; tail -n +3 /proc/net/dev | cut -d: -f1'))
  const [ls, flags, dev] = r.stdout.split('---\n').map((s) => s.trim())
  t.is(ls, 'lo', 'sysfs shows only lo')
  t.is(dev?.trim(), 'lo', '/proc/net/dev shows only lo')
  t.is(Number(flags) & 1, 1, `lo must be IFF_UP, flags=${flags}`)
})

h.it('mounts: proc, /dev tmpfs, devpts, sysfs ro, and / is the bundle rootfs', async (t) => {
  const r = await inside(t, ['cat', '/proc/self/mountinfo', '/lxts-marker'])
  const lines = r.stdout.trim().split('\n')
  const marker = lines.pop()
  t.regex(marker ?? '', /^marker-/, 'the marker file written into the bundle rootfs is visible at /')
  const mounts = lines.map((l) => {
    const [left, right] = l.split(' - ')
    const f = (left ?? '').split(' ')
    const [fstype, source, superOpts] = (right ?? '').split(' ')
    return { root: f[3], mp: f[4], opts: (f[5] ?? '').split(','), fstype, source, superOpts }
  })
  const at = (mp: string) => mounts.filter((m) => m.mp === mp).at(-1)
  t.is(at('/proc')?.fstype, 'proc', 'proc on /proc')
  t.is(at('/dev')?.fstype, 'tmpfs', 'tmpfs on /dev')
  t.is(at('/dev/pts')?.fstype, 'devpts', 'devpts on /dev/pts')
  t.is(at('/dev/shm')?.fstype, 'tmpfs', 'tmpfs on /dev/shm')
  t.is(at('/dev/mqueue')?.fstype, 'mqueue', 'mqueue on /dev/mqueue')
  t.is(at('/sys')?.fstype, 'sysfs', 'sysfs on /sys')
  t.true(at('/sys')?.opts.includes('ro') ?? false, 'sysfs is read-only')
  const root = at('/')
  t.truthy(root, 'a mount at /')
  t.true(root?.opts.includes('ro') ?? false, 'root.readonly → / is mounted ro')
  t.not(root?.root, '/', 'the root mount is a bind of the rootfs dir, not the host root')
  t.false(mounts.some((m) => m.mp?.startsWith('/tmp/lxts-bundle-')), 'no host path leaks into the mount table')
})

h.it('user: uid, gid and additionalGids from process.user', async (t) => {
  const r = await inside(t, sh('grep -E "^(Uid|Gid|Groups):" /proc/self/status; id -un'), (c) => {
    c.process.user = { uid: 1000, gid: 1000, additionalGids: [10, 100] }
  })
  const f = Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.includes(':'))
      .map((l) => {
        const [k, v] = l.split(':')
        return [k, (v ?? '').trim().split(/\s+/).filter(Boolean)]
      }),
  )
  t.deepEqual(f['Uid'], ['1000', '1000', '1000', '1000'])
  t.deepEqual(f['Gid'], ['1000', '1000', '1000', '1000'])
  t.deepEqual([...(f['Groups'] ?? [])].sort(), ['10', '100'])
  t.regex(r.stdout, /^user$/m, 'id -un resolves uid 1000 through the rootfs /etc/passwd')
})

h.it('capabilities: exactly AUDIT_WRITE|KILL|NET_BIND_SERVICE, no inheritable/ambient', async (t) => {
  const r = await inside(t, ['grep', '^Cap', '/proc/self/status'])
  const caps = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(/:\s+/) as [string, string]))
  const want = capMask([29, 5, 10]) // CAP_AUDIT_WRITE=29, CAP_KILL=5, CAP_NET_BIND_SERVICE=10
  t.is(want, '0000000020000420')
  t.is(caps['CapEff'], want, 'CapEff')
  t.is(caps['CapPrm'], want, 'CapPrm')
  t.is(caps['CapBnd'], want, 'CapBnd')
  t.is(caps['CapInh'], '0000000000000000', 'CapInh')
  t.is(caps['CapAmb'], '0000000000000000', 'CapAmb')
})

h.it('ambient caps without inheritable ones (runc spec default) are skipped; with inheritable they are raised', async (t) => {
  const amb = (r: { stdout: string }): string | undefined => /CapAmb:\s+(\w+)/.exec(r.stdout)?.[1]
  const skipped = await inside(t, ['grep', '^Cap', '/proc/self/status'], (c) => {
    c.process.capabilities.ambient = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']
  })
  t.is(amb(skipped), '0000000000000000')
  const raised = await inside(t, ['grep', '^Cap', '/proc/self/status'], (c) => {
    c.process.capabilities.inheritable = ['CAP_KILL']
    c.process.capabilities.ambient = ['CAP_KILL', 'CAP_NET_BIND_SERVICE']
  })
  t.is(amb(raised), capMask([5]))
})

h.it('a new cgroup namespace is rooted at the container own group in every hierarchy', async (t) => {
  const r = await inside(t, ['cat', '/proc/self/cgroup'], (c) => {
    c.linux.namespaces.push({ type: 'cgroup' })
  })
  const lines = r.stdout.trim().split('\n')
  t.true(lines.length >= 2, r.stdout)
  for (const l of lines) t.regex(l, /:\/$/, `every hierarchy shows / inside: ${r.stdout}`)
})

for (const cgroupns of [false, true]) {
  h.it(`a type cgroup mount on this v1/hybrid host shows the container's own groups${cgroupns ? ', in a new cgroup namespace too' : ''}`, async (t) => {
    if (!cgroupMounts().some((m) => m.version === 1 && m.path.endsWith('/memory'))) {
      t.pass('no v1 memory hierarchy: a cgroup v2 host mounts cgroup2 there')
      return
    }
    const r = await inside(t, sh('ls /sys/fs/cgroup | tr "\\n" " "; echo; cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'), (c) => {
      if (cgroupns) c.linux.namespaces.push({ type: 'cgroup' })
      c.mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] })
      c.linux['resources'] = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 77 } }
    })
    const [names = '', limit, pids] = r.stdout.split('\n')
    for (const m of cgroupMounts().filter((x) => x.version === 1)) {
      t.true(names.split(' ').includes(basename(m.path)), `${basename(m.path)} in ${names}`)
    }
    t.is(limit, String(64 * 1024 * 1024), 'memory is the container\'s group, not the host\'s root')
    t.is(pids, '77')
  })
}

h.it('NoNewPrivs is set when process.noNewPrivileges', async (t) => {
  const r = await inside(t, ['grep', '^NoNewPrivs', '/proc/self/status'])
  t.regex(r.stdout, /NoNewPrivs:\s+1/)
})

h.it('only fds 0, 1, 2 reach the process (plus the one ls opens)', async (t) => {
  const r = await inside(t, ['ls', '-l', '/proc/self/fd'])
  const fds = r.stdout
    .split('\n')
    .map((l) => /\s(\d+) -> (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ fd: Number(m[1]), target: m[2] ?? '' }))
  const extra = fds.filter((f) => f.fd > 2)
  t.deepEqual(fds.filter((f) => f.fd <= 2).map((f) => f.fd), [0, 1, 2], r.stdout)
  t.true(extra.length <= 1 && extra.every((f) => /^\/proc\/\d+\/fd$/.test(f.target)), `leaked fds:\n${r.stdout}`)
})

h.it('exit status propagates: sh -c "exit 7" → 7', async (t) => {
  await inside(t, sh('exit 7'), undefined, { code: 7 })
})

h.it('killed by a signal → 128+n (KILL → 137)', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  const run = h.cli(['run', '--rm', '-b', b.dir, b.id])
  const up = await waitFor(async () => {
    const s = await h.cli(['state', b.id])
    return s.code === 0 && (JSON.parse(s.stdout) as { status: string }).status === 'running' ? true : undefined
  })
  t.true(up, 'container reached running')
  const k = await h.cli(['kill', b.id, 'KILL'])
  t.is(k.code, 0, describe(k))
  const r = await run
  t.is(r.code, 137, describe(r))
})

h.it('signals sent to a foreground `lxts run` are forwarded to the container (TERM → trap → exit 3)', async (t) => {
  const b = h.bundle(sh('trap "exit 3" TERM; while :; do sleep 0.1; done'))
  let cliPid = 0
  const run = h.cli(['run', '--rm', '-b', b.dir, b.id], { onSpawn: (pid) => (cliPid = pid) })
  const up = await waitFor(async () => {
    const s = await h.cli(['state', b.id])
    return s.code === 0 && (JSON.parse(s.stdout) as { status: string }).status === 'running' ? true : undefined
  })
  t.true(up, 'container reached running')
  process.kill(cliPid, 'SIGTERM') // our own child, the CLI
  const r = await run
  t.is(r.code, 3, describe(r))
})

h.it('stdio: stdin reaches cat; stdout and stderr stay separate', async (t) => {
  const c = await inside(t, ['cat'], undefined, { input: 'hello from stdin\n' })
  t.is(c.stdout, 'hello from stdin\n')
  const p = await inside(t, ['cat'], undefined, { input: 'through a pipe\n', pipeInput: true })
  t.is(p.stdout, 'through a pipe\n')
  const r = await inside(t, sh('echo to-out; echo to-err >&2'))
  t.is(r.stdout, 'to-out\n')
  t.regex(r.stderr, /to-err/)
  t.notRegex(r.stdout, /to-err/)
})

h.it('rlimits apply: RLIMIT_NOFILE 1024', async (t) => {
  const r = await inside(t, sh('ulimit -n; ulimit -H -n'))
  t.is(r.stdout, '1024\n1024\n')
})

h.it('HOME defaults from the rootfs /etc/passwd when env has none (runc behaviour)', async (t) => {
  const root = await inside(t, sh('echo "$HOME"'))
  t.is(root.stdout, '/root\n')
  const user = await inside(t, sh('echo "$HOME"'), (c) => (c.process.user = { uid: 1000, gid: 1000 }))
  t.is(user.stdout, '/home/user\n')
})

h.it('env and cwd are honoured', async (t) => {
  const r = await inside(t, sh('echo "$FOO"; pwd'), (c) => {
    c.process.env.push('FOO=bar baz')
    c.process.cwd = '/tmp'
  })
  t.is(r.stdout, 'bar baz\n/tmp\n')
})

h.it('readonly root: writing / fails; a writable root accepts it', async (t) => {
  const ro = await inside(t, sh('touch /x 2>&1; echo rc=$?'))
  t.regex(ro.stdout, /Read-only file system/)
  t.notRegex(ro.stdout, /rc=0/)
  const rw = await inside(t, sh('touch /x && echo rc=$?'), (c) => (c.root.readonly = false))
  t.is(rw.stdout, 'rc=0\n')
})

h.it('masked paths read empty; readonly paths are read-only', async (t) => {
  // which masked paths exist depends on the kernel config (this one may lack /proc/kcore)
  const files = ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug'].filter((p) => existsSync(p))
  const dirs = ['/proc/acpi', '/proc/scsi', '/sys/firmware'].filter((p) => existsSync(p))
  t.true(files.length > 0 && dirs.length > 0, 'the host has some maskable paths to test')
  const script = [
    ...files.map((f) => `echo "${f}=$(cat ${f} | wc -c)"`),
    ...dirs.map((d) => `echo "${d}=$(ls -A ${d} | wc -l)"`),
    'grep " /proc/sys " /proc/self/mountinfo',
  ].join('; ')
  const r = await inside(t, sh(script))
  for (const p of [...files, ...dirs]) t.regex(r.stdout, new RegExp(`^${p}=0$`, 'm'), `${p} is masked (reads empty)`)
  t.regex(r.stdout, / \/proc\/sys ro[\s,]/, '/proc/sys is mounted read-only')
})
