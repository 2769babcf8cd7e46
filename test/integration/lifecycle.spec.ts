/**
 * The OCI lifecycle through the CLI on real containers: create → start → kill → delete, the
 * state reported at each step, the pid file, the cgroups, and what is left after delete (nothing).
 */
import { execFileSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { cgroupDirsOf, cgroupMounts, CGROUP_PARENT, processAlive, processesOf } from '../helpers/bundle.js'
import { describe, type CliResult } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { waitFor } from '../helpers/wait.js'

const h = harness(test)

/** The OCI state fields the tests read. */
interface State {
  ociVersion: string
  id: string
  status: string
  pid: number
  bundle: string
  [k: string]: unknown
}

const TRAP_TERM = ['sh', '-c', 'trap "exit 3" TERM; while :; do sleep 0.1; done']

function ok(t: ExecutionContext, r: CliResult): void {
  t.is(r.code, 0, describe(r))
}

async function state(t: ExecutionContext, id: string): Promise<State> {
  const r = await h.cli(['state', id])
  ok(t, r)
  return JSON.parse(r.stdout) as State
}

async function statusBecomes(id: string, want: string, timeout = 10_000): Promise<string> {
  let last = ''
  await waitFor(async () => {
    const r = await h.cli(['state', id])
    last = r.code === 0 ? (JSON.parse(r.stdout) as State).status : `exit ${r.code}: ${r.stderr.trim()}`
    return last === want ? true : undefined
  }, timeout, 100)
  return last
}

/** Every v1 controller hierarchy and the cgroup2 one must hold the container's cgroup with its pid. */
function assertCgroupsHold(t: ExecutionContext, id: string, pid: number): void {
  for (const m of cgroupMounts()) {
    if (m.named) continue // name=systemd: not a controller; creating a cgroup there is optional
    const dir = join(m.path, CGROUP_PARENT, id)
    t.true(existsSync(dir), `cgroup ${dir} must exist while the container lives`)
    if (!existsSync(dir)) continue
    const procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)
    t.true(procs.includes(pid), `${dir}/cgroup.procs must list the init ${pid}, has [${procs.join(' ')}]`)
  }
}

async function assertGone(t: ExecutionContext, id: string, pid: number): Promise<void> {
  t.false(existsSync(join(h.root(), id)), 'state dir removed')
  const s = await h.cli(['state', id])
  t.not(s.code, 0, `state of a deleted container must fail: ${describe(s)}`)
  t.regex(s.stderr, /ERR_LXTS_NOT_FOUND|not found|does not exist/i, describe(s))
  t.false(processAlive(pid), `init ${pid} must be gone`)
  t.deepEqual(processesOf(id), [], 'no process left in the container cgroups')
  t.deepEqual(cgroupDirsOf(id), [], 'cgroup dirs removed')
}

h.it('create → created → start → running → kill TERM → stopped → delete', async (t) => {
  const b = h.bundle(TRAP_TERM)
  const pidFile = join(b.dir, 'container.pid')
  ok(t, await h.cli(['create', '--bundle', b.dir, '--pid-file', pidFile, b.id]))

  const created = await state(t, b.id)
  t.is(created.status, 'created')
  t.is(created.id, b.id)
  t.is(created.bundle, b.dir)
  t.regex(created.ociVersion, /^1\.\d+\.\d+/)
  t.is(created['rootfs'], b.rootfs, 'rootfs is the absolute bundle rootfs')
  t.false(Number.isNaN(Date.parse(String(created['created']))), `created is a timestamp: ${String(created['created'])}`)
  t.true(Number.isInteger(created.pid) && created.pid > 0, `pid ${created.pid}`)
  t.is(readFileSync(pidFile, 'utf8'), String(created.pid), 'pid file holds the pid, no newline')
  t.true(processAlive(created.pid), 'init is alive while created')
  assertCgroupsHold(t, b.id, created.pid)

  ok(t, await h.cli(['start', b.id]))
  const running = await state(t, b.id)
  t.is(running.status, 'running')
  t.is(running.pid, created.pid)

  ok(t, await h.cli(['kill', b.id, 'TERM']))
  t.is(await statusBecomes(b.id, 'stopped'), 'stopped')
  ok(t, await h.cli(['delete', b.id]))
  await assertGone(t, b.id, created.pid)
})

h.it('kill KILL stops a PID 1 that ignores TERM (busybox sleep)', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  ok(t, await h.cli(['create', '--bundle', b.dir, '--pid-file', join(b.dir, 'pid'), b.id]))
  ok(t, await h.cli(['start', b.id]))
  const s = await state(t, b.id)
  t.is(s.status, 'running')
  ok(t, await h.cli(['kill', b.id, 'KILL']))
  t.is(await statusBecomes(b.id, 'stopped'), 'stopped')
  ok(t, await h.cli(['delete', b.id]))
  await assertGone(t, b.id, s.pid)
})

h.it('run: a child the init leaves behind is gone with it, with and without a pid namespace of its own', async (t) => {
  for (const ownPidNs of [true, false]) {
    const shared = join(h.bundle(['true']).dir, 'shared')
    mkdirSync(shared)
    // The init starts a sleep in the background and exits at once, leaving it orphaned.
    const b = h.bundle(['sh', '-c', 'sleep 1000 & echo $! > /shared/pid'], (c) => {
      c.mounts.push({ destination: '/shared', type: 'bind', source: shared, options: ['rbind', 'rw'] })
      if (!ownPidNs) c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'pid')
    })
    ok(t, await h.cli(['run', '-b', b.dir, b.id]))
    t.deepEqual(processesOf(b.id), [], `${ownPidNs ? 'own' : 'host'} pid namespace: nothing runs in its cgroups`)
    t.deepEqual(cgroupDirsOf(b.id), [], 'its cgroups are removed')
    if (!ownPidNs) {
      // Without a pid namespace the sleep is a host process: delete found it in the cgroups.
      const pid = Number(readFileSync(join(shared, 'pid'), 'utf8'))
      t.false(processAlive(pid), `the orphaned sleep ${pid} was killed`)
    }
  }
})

h.it('kill accepts SIGKILL and 9 spellings', async (t) => {
  for (const sig of ['SIGKILL', '9']) {
    const b = h.bundle(['sleep', '1000'])
    ok(t, await h.cli(['create', '--bundle', b.dir, b.id]))
    ok(t, await h.cli(['start', b.id]))
    const s = await state(t, b.id)
    ok(t, await h.cli(['kill', b.id, sig]))
    t.is(await statusBecomes(b.id, 'stopped'), 'stopped', `after kill ${sig}`)
    ok(t, await h.cli(['delete', b.id]))
    await assertGone(t, b.id, s.pid)
  }
})

h.it('list --format json shows the containers with their status', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  ok(t, await h.cli(['create', '--bundle', b.dir, b.id]))
  const r = await h.cli(['list', '--format', 'json'])
  ok(t, r)
  const list = JSON.parse(r.stdout) as State[]
  const mine = list.find((c) => c.id === b.id)
  t.truthy(mine, `list must include ${b.id}: ${r.stdout}`)
  t.is(mine?.status, 'created')
  t.is(mine?.bundle, b.dir)
  const s = await state(t, b.id)
  ok(t, await h.cli(['delete', '--force', b.id]))
  await assertGone(t, b.id, s.pid)
})

h.it('plain delete of a created container fails and changes nothing (OCI, unlike runc); --force kills it', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  ok(t, await h.cli(['create', '--bundle', b.dir, b.id]))
  const s = await state(t, b.id)
  const d = await h.cli(['delete', b.id])
  t.not(d.code, 0, `plain delete of a created container must fail: ${describe(d)}`)
  t.regex(d.stderr, /ERR_LXTS_INVALID_STATE/)
  t.is((await state(t, b.id)).status, 'created', 'still created')
  t.true(processAlive(s.pid), 'the init still waits')
  ok(t, await h.cli(['delete', '--force', b.id]))
  await assertGone(t, b.id, s.pid)
})

h.it('wrong transitions fail clearly and change nothing; delete --force works on running', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  ok(t, await h.cli(['create', '--bundle', b.dir, b.id]))

  const again = await h.cli(['create', '--bundle', b.dir, b.id])
  t.not(again.code, 0, `create of an existing id must fail: ${describe(again)}`)
  t.regex(again.stderr, /ERR_LXTS_EXISTS|exists/i, describe(again))
  t.is((await state(t, b.id)).status, 'created', 'the existing container is untouched')

  ok(t, await h.cli(['start', b.id]))
  const twice = await h.cli(['start', b.id])
  t.not(twice.code, 0, `second start must fail: ${describe(twice)}`)
  t.regex(twice.stderr, /ERR_LXTS_INVALID_STATE|running|not created|cannot start/i, describe(twice))

  const del = await h.cli(['delete', b.id])
  t.not(del.code, 0, `plain delete of a running container must fail: ${describe(del)}`)
  t.regex(del.stderr, /ERR_LXTS_INVALID_STATE|running|--force/i, describe(del))
  const s = await state(t, b.id)
  t.is(s.status, 'running', 'still running after the refused delete')
  t.true(processAlive(s.pid))

  ok(t, await h.cli(['delete', '--force', b.id]))
  await assertGone(t, b.id, s.pid)
})

h.it('start/kill/delete of an unknown id fail with not found', async (t) => {
  for (const verb of [['start'], ['kill'], ['delete'], ['state']]) {
    const r = await h.cli([...verb, 'lxts-t-does-not-exist'])
    t.not(r.code, 0, describe(r))
    t.regex(r.stderr, /ERR_LXTS_NOT_FOUND|not found|does not exist/i, describe(r))
  }
})

h.it('two concurrent creates of one id: exactly one wins, the loser leaves the winner intact', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  const [r1, r2] = await Promise.all([h.cli(['create', '--bundle', b.dir, b.id]), h.cli(['create', '--bundle', b.dir, b.id])])
  t.is([r1, r2].filter((r) => r.code === 0).length, 1, `exactly one create succeeds:\n${describe(r1)}\n${describe(r2)}`)
  const s = await state(t, b.id)
  t.is(s.status, 'created')
  t.true(processAlive(s.pid), 'the winner is alive')
  const procs = processesOf(b.id)
  t.deepEqual(procs, [s.pid], 'only the winner runs in the cgroup')
  ok(t, await h.cli(['delete', '--force', b.id]))
  await assertGone(t, b.id, s.pid)
})

h.it('state says stopped when the init dies behind lxts’s back; kill then fails', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  ok(t, await h.cli(['create', '--bundle', b.dir, b.id]))
  ok(t, await h.cli(['start', b.id]))
  const s = await state(t, b.id)
  process.kill(s.pid, 'SIGKILL') // the test's own container
  t.is(await statusBecomes(b.id, 'stopped'), 'stopped')
  const k = await h.cli(['kill', b.id, 'KILL'])
  t.not(k.code, 0, `kill of a stopped container must fail: ${describe(k)}`)
  t.regex(k.stderr, /ERR_LXTS_INVALID_STATE|not running|stopped/i, describe(k))
  ok(t, await h.cli(['delete', b.id]))
  await assertGone(t, b.id, s.pid)
})

h.it('a relative --pid-file is resolved against the working directory', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  ok(t, await h.cli(['create', '--bundle', b.dir, '--pid-file', 'rel.pid', b.id], { cwd: b.dir }))
  const s = await state(t, b.id)
  t.is(readFileSync(join(b.dir, 'rel.pid'), 'utf8'), String(s.pid))
  ok(t, await h.cli(['delete', '--force', b.id]))
  await assertGone(t, b.id, s.pid)
})

h.it('kill --all signals every process of the container', async (t) => {
  const b = h.bundle(['sh', '-c', 'sleep 1000 & sleep 1000 & wait'])
  ok(t, await h.cli(['create', '--bundle', b.dir, b.id]))
  ok(t, await h.cli(['start', b.id]))
  const s = await state(t, b.id)
  const three = await waitFor(() => (processesOf(b.id).length >= 3 ? true : undefined))
  t.true(three, `sh and two sleeps run: ${processesOf(b.id).join(' ')}`)
  ok(t, await h.cli(['kill', '--all', b.id, 'KILL']))
  const none = await waitFor(() => (processesOf(b.id).length === 0 ? true : undefined))
  t.true(none, `every process is gone: ${processesOf(b.id).join(' ')}`)
  t.is(await statusBecomes(b.id, 'stopped'), 'stopped')
  ok(t, await h.cli(['delete', b.id]))
  await assertGone(t, b.id, s.pid)
})

h.it('--preserve-fds 1 hands the CLI’s fd 3 to the container', async (t) => {
  const file = join(h.root(), '..', `lxts-fd3-${process.pid}`)
  writeFileSync(file, 'preserved\n')
  t.teardown(() => rmSyncQuiet(file))
  const fd = openSync(file, 'r')
  t.teardown(() => closeSync(fd))
  const b = h.bundle(['sh', '-c', 'cat <&3; ls /proc/self/fd | tr "\\n" " "'])
  const r = await h.cli(['run', '--rm', '--preserve-fds', '1', '-b', b.dir, b.id], { extraFds: [fd] })
  ok(t, r)
  t.regex(r.stdout, /^preserved\n/)
  // 0-2, the preserved 3, and ls's own directory fd (4): nothing else leaks.
  t.regex(r.stdout, /\n0 1 2 3 4 $/, `fds: ${r.stdout}`)
})

function rmSyncQuiet(p: string): void {
  try {
    writeFileSync(p, '')
    rmSync(p)
  } catch {
    // already gone
  }
}

h.it('eight containers run concurrently, each with its own exit code, and nothing leaks', async (t) => {
  const bundles = Array.from({ length: 8 }, (_, i) => h.bundle(['sh', '-c', `sleep 0.2; exit ${10 + i}`]))
  const results = await Promise.all(bundles.map((b) => h.cli(['run', '--rm', '-b', b.dir, b.id], { timeout: 60_000 })))
  results.forEach((r, i) => t.is(r.code, 10 + i, describe(r)))
  for (const b of bundles) {
    t.false(existsSync(join(h.root(), b.id)), `${b.id} removed`)
    t.deepEqual(cgroupDirsOf(b.id), [], `${b.id} cgroups removed`)
  }
})

h.it('delete removes only the cgroups lxts created: a pre-existing group stays', async (t) => {
  const pidsMount = cgroupMounts().find((m) => m.version === 1 && m.path.endsWith('/pids'))
  if (pidsMount === undefined) {
    t.pass('no v1 pids hierarchy on this host')
    return
  }
  const b = h.bundle(['true'])
  // Another owner's (empty) group at the container's cgroup path, made before create.
  const pre = join(pidsMount.path, CGROUP_PARENT, b.id)
  mkdirSync(pre, { recursive: true })
  t.teardown(() => rmdirQuiet(pre))
  const c = await h.cli(['create', '-b', b.dir, '--pid-file', join(b.dir, 'pid'), b.id])
  t.is(c.code, 0, describe(c))
  const d = await h.cli(['delete', '--force', b.id])
  t.is(d.code, 0, describe(d))
  t.true(existsSync(pre), `${pre} existed before create and must survive delete`)
  const memory = cgroupMounts().find((m) => m.version === 1 && m.path.endsWith('/memory'))
  if (memory !== undefined) t.false(existsSync(join(memory.path, CGROUP_PARENT, b.id)), 'the groups lxts made are gone')
})

h.it('a cpuset parent made by hand (empty cpus and mems) gets its parent\'s values, as with runc', async (t) => {
  const cpuset = cgroupMounts().find((m) => m.version === 1 && m.path.endsWith('/cpuset'))
  if (cpuset === undefined) {
    t.pass('no v1 cpuset hierarchy on this host')
    return
  }
  const b = h.bundle(['sh', '-c', 'cat /proc/self/cgroup'], (c) => {
    c.linux.cgroupsPath = c.linux.cgroupsPath.replace(/\/([^/]+)$/, '/$1-parent/$1')
  })
  const parent = join(cpuset.path, CGROUP_PARENT, `${b.id}-parent`)
  mkdirSync(parent, { recursive: true })
  t.teardown(() => rmdirQuiet(parent))
  const prefix = existsSync(join(parent, 'cpuset.cpus')) ? 'cpuset.' : ''
  // A new v1 cpuset group starts empty, unless the hierarchy has cgroup.clone_children set
  // (something on a shared host may have set it at the root): empty ours as it would start.
  for (const name of ['cpus', 'mems']) writeFileSync(join(parent, `${prefix}${name}`), '\n')
  t.is(readFileSync(join(parent, `${prefix}cpus`), 'utf8').trim(), '', 'the hand-made group is empty')
  const r = await h.cli(['run', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  t.regex(r.stdout, new RegExp(`cpuset:${CGROUP_PARENT}/${b.id}-parent/${b.id}\\n`))
  for (const name of ['cpus', 'mems']) {
    const above = readFileSync(join(parent, '..', `${prefix}${name}`), 'utf8').trim()
    t.is(readFileSync(join(parent, `${prefix}${name}`), 'utf8').trim(), above, `${name} filled from the level above`)
  }
  t.true(existsSync(parent), 'not lxts\'s to remove')
  t.deepEqual(cgroupDirsOf(b.id, `${CGROUP_PARENT}/${b.id}-parent`), [], 'the container\'s own groups are gone')
})

h.it('a private named v1 hierarchy (someone else\'s) gets no container group: it unmounts and goes away', async (t) => {
  const name = `lxtsnamed${process.pid}`
  const dir = join(tmpdir(), `lxts-named-${process.pid}`)
  mkdirSync(dir, { recursive: true })
  execFileSync('mount', ['-t', 'cgroup', '-o', `none,name=${name}`, 'cgroup', dir])
  t.teardown(() => {
    try {
      execFileSync('umount', [dir])
    } catch {
      // unmounted by the test
    }
    rmdirQuiet(dir)
  })
  const b = h.bundle(['cat', '/proc/self/cgroup'])
  const r = await h.cli(['run', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  t.regex(r.stdout, new RegExp(`:name=${name}:/$`, 'm'), 'the container stays at its root there')
  t.regex(r.stdout, new RegExp(`memory:${CGROUP_PARENT}/${b.id}$`, 'm'), 'control: in its own group where it joins')
  t.deepEqual(readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name), [])
  execFileSync('umount', [dir])
  // the kernel drops an unmounted hierarchy without groups a moment later; one with a group lingers
  const gone = await waitFor(() => (readFileSync('/proc/self/cgroup', 'utf8').includes(`name=${name}:`) ? undefined : true), 5000)
  t.true(gone === true, 'the hierarchy is gone after its umount')
})

function rmdirQuiet(p: string): void {
  try {
    rmdirSync(p)
  } catch {
    // already gone
  }
}
