/**
 * `lxts cgroup …` and the `cgroups` library on real hierarchies: the cgroup2 mount
 * (/sys/fs/cgroup/unified: freeze, cgroup.kill, populated events) and a named v1 hierarchy
 * the test mounts in a tmp dir (mount, nested create, attach, exec, show, set/get, release
 * agent, delete, umount). Everything lives under /lxts-test-* and is removed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { cgroups } from '../../ts/index.js'
import { describe, lxts, type CliResult } from '../helpers/cli.js'
import { skipUnlessRoot } from '../helpers/env.js'
import { waitFor } from '../helpers/wait.js'

const it = skipUnlessRoot(test)
const V2 = '/sys/fs/cgroup/unified'
const tag = `${process.pid}-${Math.random().toString(16).slice(2, 8)}`

function ok(t: ExecutionContext, r: CliResult): void {
  t.is(r.code, 0, describe(r))
}

const cli = (args: string[], timeout?: number): Promise<CliResult> => lxts(null, args, timeout === undefined ? {} : { timeout })

function sleeper(): ChildProcess & { pid: number } {
  const c = spawn('sleep', ['1000'], { stdio: 'ignore' })
  if (c.pid === undefined) throw new Error('no sleep')
  return c as ChildProcess & { pid: number }
}

function exited(c: ChildProcess): Promise<NodeJS.Signals | null> {
  return c.exitCode !== null || c.signalCode !== null ? Promise.resolve(c.signalCode) : new Promise((r) => c.once('exit', (_code, sig) => r(sig)))
}

function lines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

it('cgroup2: create, attach, freeze (cgroup.freeze), cgroup.kill, populated 0 seen by watch, delete', async (t) => {
  if (!existsSync(join(V2, 'cgroup.procs'))) return t.pass('no cgroup2 mount')
  const path = `/lxts-test-tool-${tag}/g`
  const sel = { hierarchy: 'cgroup2' }
  const child = sleeper()
  t.teardown(async () => {
    child.kill('SIGKILL')
    await cgroups.remove(`/lxts-test-tool-${tag}`, { recursive: true }, sel).catch(() => {})
  })
  const made = await cli(['cgroup', 'create', path, '-H', 'cgroup2'])
  ok(t, made)
  t.is(made.stdout.trim(), join(V2, path))
  ok(t, await cli(['cgroup', 'attach', path, String(child.pid), '-H', V2]))
  t.true(readFileSync(`/proc/${child.pid}/cgroup`, 'utf8').includes(`0::${path}\n`))
  const watch = cli(['cgroup', 'watch', path, '-H', 'cgroup2', '--count', '2', '--timeout', '15000'], 20_000)
  await cgroups.freeze(path, true, {}, sel)
  t.regex((await cgroups.get(path, 'cgroup.events', sel))[0]?.value ?? '', /frozen 1/)
  t.is(readFileSync(join(V2, path, 'cgroup.freeze'), 'utf8').trim(), '1')
  // A frozen task sits in the freezer trap: it does not run (no CPU time accrues).
  const ticks = (): string => readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ').slice(11, 13).join(' ') ?? ''
  const before = ticks()
  await new Promise((r) => setTimeout(r, 200))
  t.is(ticks(), before)
  const refused = await cli(['cgroup', 'delete', path, '-H', 'cgroup2'])
  t.not(refused.code, 0)
  t.regex(refused.stderr, new RegExp(`populated.*${child.pid}`))
  t.is(await cgroups.killAll(path, 'KILL', sel), 1)
  t.is(await exited(child), 'SIGKILL')
  const w = await watch
  ok(t, w)
  const evs = lines(w.stdout)
  t.deepEqual(
    evs.map((e) => e['populated']),
    [true, false],
    w.stdout,
  )
  t.is(evs[0]?.['event'], 'populated')
  await cgroups.freeze(path, false, {}, sel)
  ok(t, await cli(['cgroup', 'delete', '-r', `/lxts-test-tool-${tag}`, '-H', 'cgroup2']))
  t.false(existsSync(join(V2, `/lxts-test-tool-${tag}`)))
})

it('named v1 hierarchy: mount, nested create, attach, exec, show, set/get, release agent, delete, umount', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-test-cgmnt-'))
  const name = `lxtst${tag.replace(/-/g, '')}`.slice(0, 30)
  const sel = { hierarchy: dir }
  const child = sleeper()
  t.teardown(async () => {
    child.kill('SIGKILL')
    await exited(child)
    await cgroups.remove('/a', { recursive: true }, sel).catch(() => {})
    await cgroups.umount(dir).catch(() => {})
    if (existsSync(dir)) rmdirSync(dir)
  })
  ok(t, await cli(['cgroup', 'mount', dir, '--name', name]))
  t.true(await cgroups.isOwned(dir))
  const subs = await cli(['cgroup', 'subsystems', '--format', 'json'])
  ok(t, subs)
  const mine = (JSON.parse(subs.stdout) as { name: string; mountPoints: string[] }[]).find((s) => s.name === `name=${name}`)
  t.deepEqual(mine?.mountPoints, [dir])
  const again = await cli(['cgroup', 'mount', dir, '--name', name])
  t.not(again.code, 0, 'a named hierarchy that exists is not mounted twice')
  ok(t, await cli(['cgroup', 'create', '/a/b', '-H', dir]))
  t.true(existsSync(join(dir, 'a', 'b', 'tasks')))
  // exec: the command starts inside, and so do its children
  const ex = await cli(['cgroup', 'exec', '/a/b', '-H', dir, '--', 'sh', '-c', 'sh -c "cat /proc/self/cgroup"; exit 7'])
  t.is(ex.code, 7, describe(ex))
  t.true(ex.stdout.includes(`name=${name}:/a/b`), ex.stdout)
  const nf = await cli(['cgroup', 'exec', '/a/b', '-H', dir, '--', '/no/such/cmd'])
  t.is(nf.code, 127)
  t.regex(nf.stderr, /ERR_LXTS_EXEC_NOT_FOUND/)
  ok(t, await cli(['cgroup', 'attach', '/a/b', String(child.pid), '-H', dir]))
  const show = await cli(['cgroup', 'show', '/a/b', '-H', dir, '--format', 'json'])
  ok(t, show)
  const info = (JSON.parse(show.stdout) as { procs: number[]; threads: number[]; files: { name: string; value: string }[] }[])[0]
  t.deepEqual(info?.procs, [child.pid])
  t.deepEqual(info?.threads, [child.pid])
  t.is(info?.files.find((f) => f.name === 'notify_on_release')?.value, '0')
  ok(t, await cli(['cgroup', 'set', '/a/b', 'notify_on_release=1', '-H', dir]))
  const got = await cli(['cgroup', 'get', '/a/b', 'notify_on_release', '-H', dir])
  ok(t, got)
  t.is(got.stdout, '1\n')
  const showA = await cli(['cgroup', 'show', '/a', '-H', dir])
  t.regex(showA.stdout, /children: b/)
  const busy = await cli(['cgroup', 'delete', '/a/b', '-H', dir])
  t.not(busy.code, 0)
  t.true(busy.stderr.includes(String(child.pid)), busy.stderr)
  // release agent: only on this lxts-mounted hierarchy
  const watch = cli(['cgroup', 'watch', '/a', '-H', dir, '--count', '1', '--timeout', '15000'], 20_000)
  const agentSet = await waitFor(() => (readFileSync(join(dir, 'release_agent'), 'utf8').trim() !== '' ? true : undefined), 5000)
  t.true(agentSet, 'the watcher set a release agent on its own hierarchy')
  child.kill('SIGKILL')
  await exited(child)
  const w = await watch
  ok(t, w)
  t.deepEqual(lines(w.stdout), [{ event: 'release', hierarchy: dir, path: '/a/b' }])
  t.is(readFileSync(join(dir, 'release_agent'), 'utf8').trim(), '', 'the watcher removed its release agent')
  const notEmpty = await cli(['cgroup', 'delete', '/a', '-H', dir])
  t.not(notEmpty.code, 0)
  t.regex(notEmpty.stderr, /child groups/)
  ok(t, await cli(['cgroup', 'delete', '-r', '/a', '-H', dir]))
  t.false(existsSync(join(dir, 'a')))
  ok(t, await cli(['cgroup', 'umount', dir]))
  t.false(readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${dir} `))
  // Its groups were removed just before: the kernel must not keep the hierarchy alive unseen.
  t.false(readFileSync('/proc/self/cgroup', 'utf8').includes(`name=${name}:`), 'the hierarchy is gone from the kernel, not only unmounted')
})

it('release agents and watch are refused on host hierarchies', async (t) => {
  const path = `/lxts-test-tool-host-${tag}`
  const freezer = '/sys/fs/cgroup/freezer'
  if (!existsSync(freezer)) return t.pass('no v1 freezer')
  await cgroups.create(path, { hierarchy: 'freezer' })
  t.teardown(() => cgroups.remove(path, {}, { hierarchy: 'freezer' }).catch(() => {}))
  const before = readFileSync(join(freezer, 'release_agent'), 'utf8')
  const w = await cli(['cgroup', 'watch', path, '-H', 'freezer', '--timeout', '500'])
  t.not(w.code, 0)
  t.regex(w.stderr, /not a hierarchy lxts mounted itself.*ERR_LXTS_CGROUP/s)
  const s = await cli(['cgroup', 'set', '/', 'release_agent=/bin/true', '-H', 'freezer'])
  t.not(s.code, 0)
  t.regex(s.stderr, /not a hierarchy lxts mounted itself/)
  t.is(readFileSync(join(freezer, 'release_agent'), 'utf8'), before, 'the host root file is untouched')
  const bad = await cli(['cgroup', 'create', '/x/../etc', '-H', 'freezer'])
  t.not(bad.code, 0)
  t.regex(bad.stderr, /ERR_LXTS_USAGE/)
  const none = await cli(['cgroup', 'show', '/x', '-H', 'no-such-controller'])
  t.regex(none.stderr, /no mounted cgroup hierarchy matches/)
})

it('watch --oom reports a v1 memory OOM in the group', async (t) => {
  if (!existsSync('/sys/fs/cgroup/memory/memory.oom_control')) return t.pass('no v1 memory controller')
  const path = `/lxts-test-tool-oom-${tag}`
  const sel = { hierarchy: 'memory' }
  await cgroups.create(path, sel)
  t.teardown(async () => {
    await cgroups.killAll(path, 'KILL', sel).catch(() => {})
    await waitFor(async () => ((await cgroups.pids(path, sel).catch(() => [])).length === 0 ? true : undefined), 3000)
    await cgroups.remove(path, {}, sel).catch(() => {})
  })
  await cgroups.set(path, 'memory.limit_in_bytes', String(16 << 20), sel)
  const watch = cli(['cgroup', 'watch', path, '-H', 'memory', '--oom', '--count', '1', '--timeout', '15000'], 20_000)
  await new Promise((r) => setTimeout(r, 500))
  const hog = await cgroups.exec(path, ['sh', '-c', 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived'], { stdio: 'ignore' }, sel)
  t.is(hog.exitCode, 137, 'the hog was OOM-killed')
  const w = await watch
  ok(t, w)
  t.deepEqual(lines(w.stdout), [{ event: 'oom', hierarchy: '/sys/fs/cgroup/memory', dir: join('/sys/fs/cgroup/memory', path) }])
})

it('attach --thread moves one thread (v1 tasks), leaving the rest of its process where it was', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-test-cgthr-'))
  const name = `lxtsth${tag.replace(/-/g, '')}`.slice(0, 30)
  const sel = { hierarchy: dir }
  // node has several threads (libuv pool, V8 workers) from the start.
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  t.teardown(async () => {
    child.kill('SIGKILL')
    await exited(child)
    // The killed thread leaves its group a moment after the exit is reaped (EBUSY until then).
    for (let i = 0; i < 40 && existsSync(join(dir, 'tasks')); i++) {
      await cgroups.remove('/a', { recursive: true }, sel).catch(() => {})
      await cgroups.umount(dir).catch(() => {})
      if (existsSync(join(dir, 'tasks'))) await new Promise((r) => setTimeout(r, 50))
    }
    if (existsSync(dir)) rmdirSync(dir)
  })
  const pid = child.pid ?? 0
  let tids: number[] = []
  for (let i = 0; i < 50 && tids.length < 2; i++) {
    await new Promise((r) => setTimeout(r, 50))
    tids = readdirSync(`/proc/${pid}/task`).map(Number)
  }
  const tid = tids.find((x) => x !== pid)
  if (tid === undefined) return t.fail(`node ${pid} has no second thread: ${tids.join(' ')}`)
  ok(t, await cli(['cgroup', 'mount', dir, '--name', name]))
  ok(t, await cli(['cgroup', 'create', '/a/t', '-H', dir]))
  ok(t, await cli(['cgroup', 'attach', '--thread', '/a/t', String(tid), '-H', dir]))
  const tasks = (f: string): number[] => readFileSync(f, 'utf8').split('\n').filter(Boolean).map(Number)
  t.deepEqual(tasks(join(dir, 'a', 't', 'tasks')), [tid], 'only the thread moved')
  t.true(tasks(join(dir, 'tasks')).includes(pid), 'the main thread stayed in the root group')
  t.regex(readFileSync(`/proc/${pid}/task/${tid}/cgroup`, 'utf8'), new RegExp(`name=${name}:/a/t`))
})
