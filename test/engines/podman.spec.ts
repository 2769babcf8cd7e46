/**
 * podman (through conmon) drives lxts: run/exit codes/stdin/env/user/hostname, read-only and
 * tmpfs (tmpcopyup), volumes, ulimits, oom_score_adj, sysctls, caps, seccomp, memory and pids
 * limits, detached containers with logs/exec/stop/kill/rm, and terminals (run -it, exec -it).
 * Everything lives in a private podman storage under a temp dir (vfs driver, cgroupfs manager,
 * file events: PID 1 here is not systemd), with lxts under a private --root.
 */
import { randomBytes } from 'node:crypto'
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { cgroupLimits, engineTest, makeWork, removeCgroupTree, removeWork, type Run, run, runInPty, show, sq, type Work, killStragglers } from './support.js'

const { it, enabled } = engineTest(test, ['podman', 'conmon', 'script'])
const IMAGE = 'localhost/lxts-test-busybox:latest'
/** Every container's cgroups go under this parent, removed afterwards. */
const CGROUP_PARENT = `/lxts-test-podman-${randomBytes(4).toString('hex')}`

let w: Work
let env: NodeJS.ProcessEnv
let base: string[]

/** `podman <args>` against the private storage. */
function podman(args: string[], opts: { input?: string | undefined; timeout?: number } = {}): Promise<Run> {
  return run([...base, ...args], { ...opts, env })
}

/** `podman run` options every container gets. */
const RUN = ['--network', 'none', '--cgroup-parent', CGROUP_PARENT]

async function runOk(t: ExecutionContext, args: string[], input?: string): Promise<string> {
  const r = await podman(['run', '--rm', ...RUN, ...args], { input })
  t.is(r.code, 0, show(args, r))
  return r.stdout
}

test.before(async () => {
  if (!enabled) return
  w = makeWork('lxts-engine-podman-', (dir) => ['--root', join(dir, 'lxts-state')])
  mkdirSync(join(w.dir, 'tmp'))
  const conf = join(w.dir, 'containers.conf')
  // The limits podman would set as root (nofile 1048576, nproc 4194304) need CAP_SYS_RESOURCE
  // to raise a hard limit; pin them below any host's hard limit (runc fails the same way).
  writeFileSync(
    conf,
    `[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n[engine]\nruntime_supports_json = ["crun", "runc", "lxts"]\n[engine.runtimes]\nlxts = [${JSON.stringify(w.wrapper)}]\n`,
  )
  env = { ...process.env, CONTAINERS_CONF: conf }
  base = ['podman', '--root', join(w.dir, 'storage'), '--runroot', join(w.dir, 'runroot'), '--tmpdir', join(w.dir, 'tmp'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', 'lxts']
  const r = await podman(['import', w.rootfsTar, IMAGE])
  if (r.code !== 0) throw new Error(`podman import: ${show(['import'], r)}`)
})

test.after.always('remove every container, the storage, mounts and cgroups', async (t) => {
  if (!enabled || w === undefined) return
  const leaks: string[] = []
  const rm = await podman(['rm', '--all', '--force', '--time', '0'])
  if (rm.code !== 0) leaks.push(`podman rm --all: ${show(['rm'], rm)}`)
  const state = join(w.dir, 'lxts-state')
  const states = await run(['ls', '-A', state])
  if (states.stdout.trim() !== '') leaks.push(`lxts state left: ${states.stdout.trim()}`)
  // podman's own shm mounts under the storage are removed by `rm`; anything else is a leak
  leaks.push(...killStragglers(w.dir))
  removeWork(w.dir)
  leaks.push(...removeCgroupTree(CGROUP_PARENT).map((d) => `cgroup ${d} could not be removed`))
  t.deepEqual(leaks, [], 'nothing may be left behind')
})

it('run --rm echo: podman sends create (json log) + start + delete --force', async (t) => {
  writeFileSync(w.argvLog, '')
  t.is(await runOk(t, [IMAGE, 'echo', 'hi']), 'hi\n')
  const argv = readFileSync(w.argvLog, 'utf8')
  t.regex(argv, /--log-format=json --log \S+ create --bundle \S+ --pid-file \S+ [0-9a-f]{64}/, argv)
  t.regex(argv, /^start [0-9a-f]{64}$/m, argv)
  t.regex(argv, /^delete --force [0-9a-f]{64}$/m, argv)
})

it('exit codes: 3 from the process, 127 for a missing binary, 126 for a non-executable one, with lxts error text', async (t) => {
  const three = await podman(['run', '--rm', ...RUN, IMAGE, 'sh', '-c', 'exit 3'])
  t.is(three.code, 3, show(['exit 3'], three))
  const missing = await podman(['run', '--rm', ...RUN, IMAGE, '/nonexistent'])
  t.is(missing.code, 127, show(['/nonexistent'], missing))
  t.regex(missing.stderr, /lxts: exec "\/nonexistent".*not found/, 'the JSON log error reaches the user')
  const noexec = await podman(['run', '--rm', ...RUN, IMAGE, '/noexec.sh'])
  t.is(noexec.code, 126, show(['/noexec.sh'], noexec))
})

it('-i stdin, -e, -w, -u 1000, --hostname', async (t) => {
  t.is(await runOk(t, ['-i', IMAGE, 'cat'], 'piped input\n'), 'piped input\n')
  t.is(await runOk(t, ['-e', 'FOO=bar baz', IMAGE, 'sh', '-c', 'echo "$FOO"']), 'bar baz\n')
  t.is(await runOk(t, ['-w', '/tmp', IMAGE, 'pwd']), '/tmp\n')
  t.is(await runOk(t, ['-u', '1000', IMAGE, 'id']), 'uid=1000(user) gid=1000(user) groups=1000(user)\n')
  t.is(await runOk(t, ['--hostname', 'lxts-host', IMAGE, 'hostname']), 'lxts-host\n')
})

it('--read-only keeps / read-only with writable tmpfs /tmp; --tmpfs copies up the image content (tmpcopyup)', async (t) => {
  const ro = await runOk(t, ['--read-only', IMAGE, 'sh', '-c', 'touch /x 2>/dev/null; echo root=$?; touch /tmp/y && echo tmp=ok; grep " /tmp " /proc/mounts | cut -d" " -f3'])
  t.is(ro, 'root=1\ntmp=ok\ntmpfs\n')
  const up = await runOk(t, ['--tmpfs', '/home', IMAGE, 'sh', '-c', 'grep " /home " /proc/mounts | cut -d" " -f3; ls /home'])
  t.is(up, 'tmpfs\nuser\n', '/home/user of the image is copied into the new tmpfs')
})

it('-v hostdir, --ulimit, --oom-score-adj, --sysctl, --cap-drop all, default seccomp', async (t) => {
  const host = join(w.dir, 'vol')
  mkdirSync(host)
  writeFileSync(join(host, 'f'), 'from host\n')
  t.is(await runOk(t, ['-v', `${host}:/data`, IMAGE, 'sh', '-c', 'cat /data/f; echo back > /data/g']), 'from host\n')
  t.is(readFileSync(join(host, 'g'), 'utf8'), 'back\n')
  t.is(await runOk(t, ['--ulimit', 'nofile=100:100', '--ulimit', 'nproc=1000:1000', IMAGE, 'sh', '-c', 'ulimit -n; ulimit -Hn']), '100\n100\n')
  t.is(await runOk(t, ['--oom-score-adj', '100', IMAGE, 'cat', '/proc/self/oom_score_adj']), '100\n')
  t.is(await runOk(t, ['--sysctl', 'net.ipv4.ip_forward=1', IMAGE, 'cat', '/proc/sys/net/ipv4/ip_forward']), '1\n')
  t.is(await runOk(t, ['--cap-drop', 'all', IMAGE, 'sh', '-c', 'grep -E "^Cap(Eff|Bnd)" /proc/self/status']), 'CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n')
  t.is(await runOk(t, [IMAGE, 'sh', '-c', 'grep "^Seccomp:" /proc/self/status']), 'Seccomp:\t2\n', 'podman default seccomp profile in force')
})

it('--uidmap with an idmapped volume (-v src:dst:idmap): host 0:0 and 1:1 files are 0:0 and 1:1 inside', async (t) => {
  const host = join(w.dir, 'idmapped')
  mkdirSync(host)
  writeFileSync(join(host, 'a'), 'a\n')
  writeFileSync(join(host, 'b'), 'b\n')
  chownSync(join(host, 'b'), 1, 1)
  const map = ['--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536']
  const out = await runOk(t, [...map, '-v', `${host}:/data:idmap`, '-v', `${host}:/plain`, IMAGE, 'sh', '-c', 'stat -c %n=%u:%g /data/a /data/b /plain/a'])
  t.is(out, '/data/a=0:0\n/data/b=1:1\n/plain/a=65534:65534\n')
})

it('-d with --memory/--pids-limit: cgroup limits, logs, exec (code, -i), stop (SIGTERM), rm', async (t) => {
  const d = await podman(['run', '-d', ...RUN, '--memory', '64m', '--pids-limit', '64', IMAGE, 'sh', '-c', 'echo started; trap "echo got-term; exit 7" TERM; while true; do sleep 0.1; done'])
  t.is(d.code, 0, show(['run -d'], d))
  const id = d.stdout.trim()
  const limits = cgroupLimits(`${CGROUP_PARENT}/libpod-${id}`)
  t.is(limits.memory, String(64 * 1024 * 1024))
  t.is(limits.pids, '64')
  if (existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes')) {
    // v1 host: the container's /sys/fs/cgroup/<controller> is its own group (as runc), not the host's cgroup2 root
    const inside = await podman(['exec', id, 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; grep " /sys/fs/cgroup " /proc/mounts | cut -d" " -f3,4 | cut -d, -f1'])
    t.is(inside.stdout, `${64 * 1024 * 1024}\n64\ntmpfs ro\n`, show(['exec cat limits'], inside))
  }
  const logs = await podman(['logs', id])
  t.regex(logs.stdout, /started/, show(['logs'], logs))
  const ex = await podman(['exec', id, 'sh', '-c', 'id -u; exit 5'])
  t.is(ex.code, 5, show(['exec'], ex))
  t.is(ex.stdout, '0\n')
  const exi = await podman(['exec', '-i', id, 'sh'], { input: 'echo via-stdin\nexit 6\n' })
  t.is(exi.code, 6, show(['exec -i'], exi))
  t.is(exi.stdout, 'via-stdin\n')
  const stop = await podman(['stop', '-t', '10', id])
  t.is(stop.code, 0, show(['stop'], stop))
  const code = await podman(['inspect', id, '--format', '{{.State.ExitCode}}'])
  t.is(code.stdout.trim(), '7', 'the SIGTERM trap ran')
  t.regex((await podman(['logs', id])).stdout, /got-term/)
  t.is((await podman(['rm', id])).code, 0)
})

it('stop falls back to SIGKILL; kill; rm -f of a running container', async (t) => {
  const a = (await podman(['run', '-d', ...RUN, IMAGE, 'sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done'])).stdout.trim()
  const stop = await podman(['stop', '-t', '1', a])
  t.is(stop.code, 0, show(['stop'], stop))
  t.is((await podman(['inspect', a, '--format', '{{.State.ExitCode}}'])).stdout.trim(), '137')
  const b = (await podman(['run', '-d', ...RUN, IMAGE, 'sleep', '100'])).stdout.trim()
  t.is((await podman(['kill', b])).code, 0)
  t.is((await podman(['wait', b])).stdout.trim(), '137')
  const c = (await podman(['run', '-d', ...RUN, IMAGE, 'sleep', '100'])).stdout.trim()
  const rmf = await podman(['rm', '-f', '-t', '0', c])
  t.is(rmf.code, 0, show(['rm -f'], rmf))
  await podman(['rm', a, b])
  const ps = await podman(['ps', '-aq'])
  t.is(ps.stdout.trim(), '', 'no container left')
  const argv = readFileSync(w.argvLog, 'utf8')
  t.regex(argv, new RegExp(`^kill ${a} 15$`, 'm'))
  t.regex(argv, new RegExp(`^kill ${a} 9$`, 'm'))
})

it('run -it and exec -it get a pty (console socket)', async (t) => {
  const line = (args: string[]): string => [...base, ...args].map(sq).join(' ')
  const r = await runInPty(line(['run', '--rm', '-it', ...RUN, IMAGE, 'sh', '-c', 'tty; exit 2']), env)
  t.is(r.code, 2, show(['run -it'], r))
  t.regex(r.stdout, /\/dev\/pts\/0/)
  const id = (await podman(['run', '-d', ...RUN, IMAGE, 'sleep', '100'])).stdout.trim()
  const e = await runInPty(line(['exec', '-it', id, 'sh', '-c', 'tty; exit 4']), env)
  t.is(e.code, 4, show(['exec -it'], e))
  t.regex(e.stdout, /\/dev\/pts\/\d+/)
  t.is((await podman(['rm', '-f', '-t', '0', id])).code, 0)
})
