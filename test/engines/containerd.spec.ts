/**
 * containerd's runc v2 shim drives lxts (`ctr --runc-binary`): run/exit status, create errors
 * reported from lxts's JSON log, run -d + task exec/ps/pause/resume/kill/delete + container rm,
 * terminals. A private containerd (its own root, state, socket, native snapshotter, no CRI)
 * runs for this file only, under a containerd namespace of its own; the busybox image is an
 * OCI archive built here, so neither a registry nor podman is needed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, openSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { waitFor } from '../helpers/wait.js'
import { engineTest, killStragglers, makeWork, ociArchive, removeCgroupTree, removeWork, type Run, run, runInPty, show, sq, stopDaemon, type Work } from './support.js'

const { it, enabled } = engineTest(test, ['containerd', 'ctr', 'containerd-shim-runc-v2', 'script'])
const IMAGE = 'docker.io/library/lxts-test-busybox:latest'
/** containerd namespace: also the shim's `--root /run/containerd/runc/<ns>` and the cgroup parent. */
const NS = `lxts-test-ctr-${randomBytes(4).toString('hex')}`

let w: Work
let sock: string
let daemon: ChildProcess | undefined

function ctr(args: string[], opts: { input?: string } = {}): Promise<Run> {
  return run(['ctr', '--address', sock, '--namespace', NS, ...args], opts)
}

/** `ctr run` options every container gets. */
function runArgs(): string[] {
  return ['--snapshotter', 'native', '--runc-binary', w.wrapper]
}

test.before(async () => {
  if (!enabled) return
  w = makeWork('lxts-engine-containerd-')
  sock = join(w.dir, 'containerd.sock')
  const config = join(w.dir, 'containerd.toml')
  writeFileSync(
    config,
    [
      'version = 2',
      `root = ${JSON.stringify(join(w.dir, 'root'))}`,
      `state = ${JSON.stringify(join(w.dir, 'state'))}`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
      '[grpc]',
      `  address = ${JSON.stringify(sock)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${sock}.ttrpc`)}`,
      '',
    ].join('\n'),
  )
  const log = openSync(join(w.dir, 'containerd.log'), 'a')
  daemon = spawn('containerd', ['--config', config], { stdio: ['ignore', log, log], detached: true })
  if ((await waitFor(() => existsSync(sock) || undefined, 15_000)) === undefined) throw new Error(`containerd did not start: ${readFileSync(join(w.dir, 'containerd.log'), 'utf8')}`)
  const r = await ctr(['images', 'import', '--snapshotter', 'native', await ociArchive(w, IMAGE, ['sh'])])
  if (r.code !== 0) throw new Error(`ctr images import: ${show(['import'], r)}`)
})

test.after.always('remove every task and container, stop containerd, remove its dirs and cgroups', async (t) => {
  if (!enabled || w === undefined) return
  const leaks: string[] = []
  if (daemon !== undefined && daemon.exitCode === null) {
    for (const id of (await ctr(['containers', 'list', '--quiet'])).stdout.split('\n').filter(Boolean)) {
      leaks.push(`container ${id}`)
      await ctr(['tasks', 'kill', '--signal', 'SIGKILL', id])
      await ctr(['tasks', 'delete', '--force', id])
      await ctr(['containers', 'delete', id])
    }
    for (const name of (await ctr(['images', 'list', '--quiet'])).stdout.split('\n').filter(Boolean)) await ctr(['images', 'remove', name])
    leaks.push(...(await stopDaemon(daemon)))
  }
  // shims (and anything else) started for this file name its socket on their command line
  leaks.push(...killStragglers(w.dir))
  removeWork(w.dir)
  // the shim's `--root` for this namespace: lxts removed each container's state, the dir remains
  const runtimeRoot = join('/run/containerd/runc', NS)
  try {
    if (existsSync(runtimeRoot)) rmdirSync(runtimeRoot)
  } catch {
    leaks.push(`${runtimeRoot} not empty`)
  }
  leaks.push(...removeCgroupTree(`/${NS}`).map((d) => `cgroup ${d} could not be removed`))
  t.deepEqual(leaks, [], 'nothing may be left behind')
})

it('ctr run --rm: the shim sends --root/--log/--log-format json create, start, delete; output and exit status', async (t) => {
  writeFileSync(w.argvLog, '')
  const hi = await ctr(['run', '--rm', ...runArgs(), IMAGE, 'c1', 'echo', 'hi'])
  t.is(hi.code, 0, show(['run c1'], hi))
  t.is(hi.stdout, 'hi\n')
  const argv = readFileSync(w.argvLog, 'utf8')
  const globals = `--root /run/containerd/runc/${NS} --log \\S+/c1/log.json --log-format json`
  t.regex(argv, new RegExp(`^${globals} create --bundle \\S+ --pid-file \\S+/init.pid c1$`, 'm'), argv)
  t.regex(argv, new RegExp(`^${globals} start c1$`, 'm'), argv)
  t.regex(argv, new RegExp(`^${globals} delete c1$`, 'm'), argv)
  const three = await ctr(['run', '--rm', ...runArgs(), IMAGE, 'c2', 'sh', '-c', 'exit 3'])
  t.is(three.code, 3, show(['run c2'], three))
})

it('a missing or non-executable binary fails create with the lxts error from the JSON log', async (t) => {
  const missing = await ctr(['run', '--rm', ...runArgs(), IMAGE, 'c3', '/nonexistent'])
  t.not(missing.code, 0)
  t.regex(missing.stderr, /OCI runtime create failed: exec "\/nonexistent": executable file not found.*ERR_LXTS_EXEC_NOT_FOUND/, show(['run c3'], missing))
  const noexec = await ctr(['run', '--rm', ...runArgs(), IMAGE, 'c4', '/noexec.sh'])
  t.regex(noexec.stderr, /not an executable file \(ERR_LXTS_EXEC_FAILED\)/, show(['run c4'], noexec))
  t.is((await ctr(['containers', 'list', '--quiet'])).stdout, '', '--rm removed both')
})

it('run -d, task exec (output, status, stdin), ps, pause/resume, kill, task delete, container rm', async (t) => {
  const d = await ctr(['run', '-d', ...runArgs(), IMAGE, 'c5', 'sh', '-c', 'trap "exit 9" TERM; while true; do sleep 0.1; done'])
  t.is(d.code, 0, show(['run -d'], d))
  const ex = await ctr(['tasks', 'exec', '--exec-id', 'e1', 'c5', 'sh', '-c', 'echo $$; exit 4'])
  t.is(ex.code, 4, show(['exec e1'], ex))
  t.regex(ex.stdout, /^\d+\n$/, 'a pid in the container pid namespace')
  const stdin = await ctr(['tasks', 'exec', '--exec-id', 'e2', 'c5', 'cat'], { input: 'piped\n' })
  t.is(stdin.stdout, 'piped\n', show(['exec e2'], stdin))
  const ps = await ctr(['tasks', 'ps', 'c5'])
  t.is(ps.code, 0, show(['ps'], ps))
  t.regex(ps.stdout, /^\d+\s/m)
  t.is((await ctr(['tasks', 'pause', 'c5'])).code, 0)
  t.regex((await ctr(['tasks', 'list'])).stdout, /c5\s+\d+\s+PAUSED/)
  t.is((await ctr(['tasks', 'resume', 'c5'])).code, 0)
  t.regex((await ctr(['tasks', 'list'])).stdout, /c5\s+\d+\s+RUNNING/)
  t.is((await ctr(['tasks', 'kill', 'c5'])).code, 0)
  const stopped = await waitFor(async () => (/c5\s+\d+\s+STOPPED/.test((await ctr(['tasks', 'list'])).stdout) ? true : undefined), 10_000)
  t.true(stopped, 'SIGTERM stopped the task')
  const del = await ctr(['tasks', 'delete', 'c5'])
  t.is(del.code, 0, show(['task delete'], del))
  t.regex(del.stderr, /exit code 9/, 'the trap exit status reaches containerd')
  t.is((await ctr(['containers', 'delete', 'c5'])).code, 0)
  t.false(existsSync(join('/run/containerd/runc', NS, 'c5')), 'lxts removed its state')
})

it('run -t and task exec -t get a pty from the shim console socket', async (t) => {
  const line = (args: string[]): string => ['ctr', '--address', sock, '--namespace', NS, ...args].map(sq).join(' ')
  // The short sleep before each exit: one loaded CI run saw `tty`'s line lost on a quick exit.
  // The shim holds the pty's master from before the process starts, so what can drop output
  // is the copying that follows it on the exit (the shim's console copy, ctr, script).
  const r = await runInPty(line(['run', '--rm', '-t', ...runArgs(), IMAGE, 'c6', 'sh', '-c', 'tty; sleep 0.2; exit 2']))
  t.is(r.code, 2, show(['run -t'], r))
  t.regex(r.stdout, /\/dev\/pts\/0/)
  t.is((await ctr(['run', '-d', ...runArgs(), IMAGE, 'c7', 'sleep', '100'])).code, 0)
  const e = await runInPty(line(['tasks', 'exec', '-t', '--exec-id', 'e1', 'c7', 'sh', '-c', 'tty; sleep 0.2; exit 5']))
  t.is(e.code, 5, show(['exec -t'], e))
  t.regex(e.stdout, /\/dev\/pts\/\d+/)
  await ctr(['tasks', 'kill', '--signal', 'SIGKILL', 'c7'])
  await waitFor(async () => (/c7\s+\d+\s+STOPPED/.test((await ctr(['tasks', 'list'])).stdout) ? true : undefined), 10_000)
  t.is((await ctr(['tasks', 'delete', 'c7'])).code, 0)
  t.is((await ctr(['containers', 'delete', 'c7'])).code, 0)
})
