/**
 * The TypeScript library on real containers: the same lifecycle as the CLI through
 * `new Runtime({ root })`, `LxtsError` codes on bad input, `wait()` and `run()` exit statuses.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { cgroupDirsOf, processAlive, processesOf } from '../helpers/bundle.js'
import { REPO } from '../helpers/env.js'
import { harness } from '../helpers/harness.js'
import { readAll } from '../helpers/stream.js'
import { waitFor } from '../helpers/wait.js'
import { defaultSpec, LxtsError, Runtime, type StdioOption } from '../../ts/index.js'

const h = harness(test)
const rt = (): Runtime => new Runtime({ root: h.root() })

function assertGone(t: ExecutionContext, id: string, pid: number): void {
  t.false(existsSync(join(h.root(), id)), 'state dir removed')
  t.false(processAlive(pid), `init ${pid} gone`)
  t.deepEqual(processesOf(id), [])
  t.deepEqual(cgroupDirsOf(id), [])
}

h.it('library lifecycle: create → start → kill → stopped → delete', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  const c = await rt().create(b.id, { bundle: b.dir })
  t.is(c.id, b.id)
  const created = await c.state()
  t.is(created.status, 'created')
  t.is(created.bundle, b.dir)
  t.is(created.owner, userInfo().username, 'owner: the creating user, as runc')
  const second = h.bundle(['true'])
  t.is((await (await rt().create(second.id, { bundle: second.dir })).state()).owner, userInfo().username, 'and for the next create')
  await (await rt().get(second.id)).delete({ force: true })
  const pid = created.pid ?? 0
  t.true(pid > 0 && processAlive(pid), `pid ${created.pid}`)

  await c.start()
  t.is((await c.state()).status, 'running')
  const again = await rt().get(b.id)
  t.is((await again.state()).pid, created.pid, 'get() sees the same container')
  const listed = await rt().list()
  t.true(listed.some((s) => s.id === b.id && s.status === 'running'), 'list() includes it')

  await c.kill('SIGKILL')
  const stopped = await waitFor(async () => ((await c.state()).status === 'stopped' ? true : undefined))
  t.true(stopped, 'status becomes stopped')
  await c.delete()
  assertGone(t, b.id, pid)
  await t.throwsAsync(rt().get(b.id), { instanceOf: LxtsError, code: 'ERR_LXTS_NOT_FOUND' })
})

h.it('library: wrong transitions throw ERR_LXTS_INVALID_STATE; delete({force}) works', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  const c = await rt().create(b.id, { bundle: b.dir })
  await c.start()
  await t.throwsAsync(c.start(), { instanceOf: LxtsError, code: 'ERR_LXTS_INVALID_STATE' })
  await t.throwsAsync(c.delete(), { instanceOf: LxtsError, code: 'ERR_LXTS_INVALID_STATE' })
  const pid = (await c.state()).pid ?? 0
  await c.delete({ force: true })
  assertGone(t, b.id, pid)
})

h.it('library: bad input gets stable codes and leaves nothing', async (t) => {
  const b = h.bundle(['true'], (c) => (c.process.cwd = 'relative'))
  const e = await t.throwsAsync(rt().create(b.id, { bundle: b.dir }), { instanceOf: LxtsError, code: 'ERR_LXTS_INVALID_CONFIG' })
  t.regex(e?.message ?? '', /process\.cwd/)
  t.false(existsSync(join(h.root(), b.id)))

  await t.throwsAsync(rt().create('../bad', { bundle: b.dir }), { instanceOf: LxtsError, code: 'ERR_LXTS_INVALID_ID' })
  await t.throwsAsync(rt().get('lxts-t-nope'), { instanceOf: LxtsError, code: 'ERR_LXTS_NOT_FOUND' })

  const missing = h.bundle(['/bin/no-such-binary'])
  await t.throwsAsync(rt().create(missing.id, { bundle: missing.dir }), { instanceOf: LxtsError, code: 'ERR_LXTS_EXEC_NOT_FOUND' })
  t.false(existsSync(join(h.root(), missing.id)))
  t.deepEqual(cgroupDirsOf(missing.id), [])

  // stdio as a JS caller of child_process would write it: a shorthand works, anything else is named.
  const ok = h.bundle(['true'])
  for (const stdio of ['bogus', ['ignore'], 7]) {
    const bad = await t.throwsAsync(rt().create(ok.id, { bundle: ok.dir, stdio: stdio as never }), { instanceOf: LxtsError, code: 'ERR_LXTS_USAGE' })
    t.is((bad as LxtsError | undefined)?.field, 'stdio')
    t.false(existsSync(join(h.root(), ok.id)))
  }
})

h.it(`library: stdio 'ignore' / 'pipe' stand for all three, as with child_process`, async (t) => {
  const b = h.bundle(['sh', '-c', 'echo out; echo err >&2; exit 3'])
  t.is((await rt().run(b.id, { bundle: b.dir, stdio: 'ignore' })).exitCode, 3)
  await pipedRoundTrip(t, 'pipe')
})

h.it('library: wait() returns the exit status of a monitored container', async (t) => {
  const b = h.bundle(['sh', '-c', 'exit 5'])
  const c = await rt().create(b.id, { bundle: b.dir, monitor: true })
  await c.start()
  const r = await c.wait()
  t.is(r.exitCode, 5)
  t.is(r.signal, null)
  t.is((await c.state()).status, 'stopped')
  await c.delete()
  t.false(existsSync(join(h.root(), b.id)))
})

h.it('library: run() returns the exit status', async (t) => {
  const b = h.bundle(['sh', '-c', 'exit 9'])
  const r = await rt().run(b.id, { bundle: b.dir })
  t.is(r.exitCode, 9)
  t.is(r.signal, null)
  const s = await rt().get(b.id).catch(() => undefined)
  if (s !== undefined) await s.delete({ force: true })
})

h.it('library: while run() runs the process, state and list say running (then it is gone)', async (t) => {
  const b = h.bundle(['sleep', '1'])
  const runtime = rt()
  const done = runtime.run(b.id, { bundle: b.dir, stdio: ['ignore', 'ignore', 'ignore'] })
  let seen: string | undefined
  for (let i = 0; i < 100 && seen !== 'running'; i++) {
    await new Promise((r) => setTimeout(r, 20))
    seen = (await runtime.get(b.id).then((c) => c.state()).catch(() => undefined))?.status
  }
  t.is(seen, 'running', 'the started process is reported running')
  t.deepEqual((await runtime.list()).filter((s) => s.id === b.id).map((s) => s.status), ['running'])
  t.is((await done).exitCode, 0)
  t.false(existsSync(join(h.root(), b.id)), 'run() deleted it')
})

h.it('library: create from an in-memory config', async (t) => {
  const b = h.bundle(['sh', '-c', 'exit 4'])
  b.config.root.path = b.rootfs
  const r = await rt().run(b.id, { config: b.config as never })
  t.is(r.exitCode, 4)
  const s = await rt().get(b.id).catch(() => undefined)
  if (s !== undefined) await s.delete({ force: true })
})

/** stdin reaches a monitored container's process through a pipe; stdout and stderr come back separated. */
async function pipedRoundTrip(t: ExecutionContext, stdio: StdioOption): Promise<void> {
  const b = h.bundle(['sh', '-c', 'read x; echo "got-$x"; echo "err-$x" >&2; exit 3'])
  const c = await rt().create(b.id, { bundle: b.dir, monitor: true, stdio })
  const [stdin, stdout, stderr] = c.stdio
  t.truthy(stdin && stdout && stderr, 'all three pipes exist')
  const out = readAll(stdout)
  const err = readAll(stderr)
  stdin?.end('hi\n')
  await c.start()
  const r = await c.wait()
  t.is(r.exitCode, 3)
  t.is(await out, 'got-hi\n')
  t.is(await err, 'err-hi\n')
  await c.delete()
}

h.it('library: piped stdio reaches the container and comes back separated', async (t) => {
  await pipedRoundTrip(t, ['pipe', 'pipe', 'pipe'])
})

h.it('library: defaultSpec() (made non-interactive) runs on this machine', async (t) => {
  const b = h.bundle(['true'])
  const config = defaultSpec()
  config.process = { ...config.process!, terminal: false, args: ['sh', '-c', 'echo $$; grep -c . /proc/self/mountinfo'] }
  config.root = { path: b.rootfs, readonly: true }
  config.linux = { ...config.linux, cgroupsPath: `/lxts-test/${b.id}` }
  const c = await rt().create(b.id, { config, monitor: true, stdio: ['ignore', 'pipe', 'pipe'] })
  const output = Promise.all([readAll(c.stdio[1]), readAll(c.stdio[2])])
  await c.start()
  const r = await c.wait()
  const [out, err] = await output
  t.is(r.exitCode, 0, `stdout: ${out}\nstderr: ${err}`)
  t.regex(out, /^1\n\d+\n$/)
  await c.delete()
})

/** Child processes of `ppid` named lxts-helper (comm), from /proc. */
function helpersOf(ppid: number): number[] {
  const out: number[] = []
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (comm === 'lxts-helper' && Number(fields[1]) === ppid) out.push(Number(e))
    } catch {
      // gone meanwhile
    }
  }
  return out
}

h.it('library: one container after another takes a helper spawned ahead (a spare), which ends with the process', async (t) => {
  const bundles = [0, 1, 2].map(() => h.bundle(['true']))
  const dir = mkdtempSync(join(tmpdir(), 'lxts-test-spare-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // A separate Node process, so this worker's own helpers do not count and its exit can be watched.
  const script = join(dir, 'spare.mts')
  writeFileSync(
    script,
    `import { readdirSync, readFileSync } from 'node:fs'
import { Runtime } from ${JSON.stringify(join(REPO, 'ts', 'index.js'))}
${helpersOf.toString()}
const rt = new Runtime({ root: ${JSON.stringify(h.root())} })
const seen = []
for (const b of ${JSON.stringify(bundles.map((b) => ({ id: b.id, dir: b.dir })))}) {
  const r = await rt.run(b.id, { bundle: b.dir, stdio: ['ignore', 'ignore', 'ignore'] })
  await new Promise((res) => setTimeout(res, 200)) // the spare forks on the next turn of the loop
  seen.push({ exit: r.exitCode, spares: helpersOf(process.pid) })
}
console.log(JSON.stringify(seen))
`,
  )
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', script], { cwd: REPO, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  )
  const seen = JSON.parse(out) as { exit: number; spares: number[] }[]
  t.deepEqual(seen.map((r) => r.exit), [0, 0, 0])
  t.deepEqual(seen[0]?.spares, [], 'the first container spawns no spare')
  t.is(seen[1]?.spares.length, 1, 'the second, of the same shape, leaves one spare waiting')
  t.is(seen[2]?.spares.length, 1)
  t.not(seen[2]?.spares[0], seen[1]?.spares[0], 'the third took that spare and left a new one')
  const last = seen[2]?.spares[0] ?? 0
  t.true(await waitFor(async () => (existsSync(`/proc/${last}/stat`) && !/\) [ZX] /.test(readFileSync(`/proc/${last}/stat`, 'utf8')) ? undefined : true)), `spare ${last} ended with its process`)
})

h.it("library: the helper's stdio is blocking even when Node made its own non-blocking (as libuv's spawn did)", async (t) => {
  const b = h.bundle(['sleep', '30'])
  const dir = mkdtempSync(join(tmpdir(), 'lxts-test-nonblock-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // A separate Node process whose stdout is a pipe: libuv makes that fd O_NONBLOCK (04000).
  const script = join(dir, 'nonblock.mts')
  writeFileSync(
    script,
    `import { readFileSync } from 'node:fs'
import { Runtime } from ${JSON.stringify(join(REPO, 'ts', 'index.js'))}
const flags = (pid) => parseInt(/^flags:\\s+(\\d+)/m.exec(readFileSync(\`/proc/\${pid}/fdinfo/1\`, 'utf8'))[1], 8)
process.stdout.write('')
const before = flags('self')
const rt = new Runtime({ root: ${JSON.stringify(h.root())} })
const c = await rt.create(${JSON.stringify(b.id)}, { bundle: ${JSON.stringify(b.dir)}, monitor: true, stdio: ['ignore', 'inherit', 'ignore'] })
const monitor = JSON.parse(readFileSync(${JSON.stringify(join(h.root(), b.id, 'state.json'))}, 'utf8')).monitorPid
const helper = flags(monitor)
await c.delete({ force: true })
process.stdout.write(JSON.stringify({ before, helper }) + '\\n')
`,
  )
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', script], { cwd: REPO, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  )
  const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { before: number; helper: number }
  t.true((r.before & 0o4000) !== 0, `precondition: Node's piped stdout is non-blocking (flags ${r.before.toString(8)})`)
  t.is(r.helper & 0o4000, 0, `the monitor's fd 1 is blocking (flags ${r.helper.toString(8)})`)
})
