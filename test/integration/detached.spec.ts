/**
 * Detached containers (`run -d`): the monitor records the exit status (and OOM kills) for a
 * `wait` from a fresh CLI, the output goes to `lxts logs`, `--rm` removes everything after
 * the exit, and the monitor itself stays small.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { cgroupDirsOf, cgroupMounts, CGROUP_PARENT, processesOf } from '../helpers/bundle.js'
import { describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { waitFor } from '../helpers/wait.js'

const h = harness(test)

interface Stored {
  pid: number
  monitorPid?: number
}

function stored(id: string): Stored {
  return JSON.parse(readFileSync(join(h.root(), id, 'state.json'), 'utf8')) as Stored
}

async function detached(t: ExecutionContext, args: string[], extra: string[] = []): Promise<string> {
  const b = h.bundle(args)
  const r = await h.cli(['run', '-d', ...extra, '-b', b.dir, b.id], { timeout: 15_000 })
  t.is(r.code, 0, describe(r))
  t.is(r.stdout, '', 'the container\'s output goes to the log, not to run\'s stdout')
  return b.id
}

h.it('exit status after the starting CLI exited: wait, wait --format json, state.exitStatus, logs', async (t) => {
  const id = await detached(t, ['sh', '-c', 'echo out; echo err >&2; sleep 0.5; exit 3'])
  const w = await h.cli(['wait', id], { timeout: 15_000 })
  t.is(w.code, 3, describe(w))
  t.is(w.stdout, '')
  const j = await h.cli(['wait', '--format', 'json', id])
  t.deepEqual(JSON.parse(j.stdout), { exitCode: 3, signal: null, oomKilled: false })
  const s = JSON.parse((await h.cli(['state', id])).stdout) as { status: string; exitStatus?: { exitCode: number } }
  t.is(s.status, 'stopped')
  t.like(s.exitStatus, { exitCode: 3 })
  const l = await h.cli(['logs', id])
  t.is(l.code, 0, describe(l))
  t.deepEqual(l.stdout.split('\n').filter(Boolean).sort(), ['err', 'out'])
  t.is((await h.cli(['delete', id])).code, 0)
})

h.it('logs -f follows until the container stops', async (t) => {
  const id = await detached(t, ['sh', '-c', 'echo first; sleep 1; echo second'])
  const l = await h.cli(['logs', '-f', id], { timeout: 15_000 })
  t.is(l.code, 0, describe(l))
  t.is(l.stdout, 'first\nsecond\n')
  t.is((await h.cli(['delete', id])).code, 0)
})

h.it('a signal that ends a detached container is recorded', async (t) => {
  const id = await detached(t, ['sleep', '1000'])
  t.is((await h.cli(['kill', id, 'KILL'])).code, 0)
  const j = await h.cli(['wait', '--format', 'json', id], { timeout: 15_000 })
  t.is(j.code, 137, describe(j))
  t.deepEqual(JSON.parse(j.stdout), { exitCode: 137, signal: 9, oomKilled: false })
  t.is((await h.cli(['delete', id])).code, 0)
})

h.it('the OOM killer ending a detached container is recorded as oomKilled', async (t) => {
  const memory = cgroupMounts().find((m) => m.version === 1 && existsSync(join(m.path, 'memory.limit_in_bytes')))
  if (memory === undefined) {
    t.log('no v1 memory controller on this host: OOM reporting not checked')
    t.pass()
    return
  }
  // tail buffers a line that never ends: it grows until the limit set below kills it
  const id = await detached(t, ['sh', '-c', 'sleep 0.5; exec tail /dev/zero'])
  writeFileSync(join(memory.path, CGROUP_PARENT, id, 'memory.limit_in_bytes'), String(16 * 1024 * 1024))
  const j = await h.cli(['wait', '--format', 'json', id], { timeout: 20_000 })
  t.is(j.code, 137, describe(j))
  t.like(JSON.parse(j.stdout), { exitCode: 137, oomKilled: true })
  t.is((await h.cli(['delete', id])).code, 0)
})

h.it('run -d --rm leaves nothing once the container exited', async (t) => {
  const id = await detached(t, ['sh', '-c', 'sleep 0.3'], ['--rm'])
  const gone = await waitFor(() => (!existsSync(join(h.root(), id)) && cgroupDirsOf(id).length === 0 ? true : undefined), 10_000, 100)
  t.true(gone, `state dir and cgroups removed: ${cgroupDirsOf(id).join(', ')}`)
  t.deepEqual(processesOf(id), [])
  const s = await h.cli(['state', id])
  t.regex(s.stderr, /ERR_LXTS_NOT_FOUND/, describe(s))
})

h.it('the monitor stays small (VmRSS)', async (t) => {
  const id = await detached(t, ['sleep', '1000'])
  const monitor = stored(id).monitorPid
  t.truthy(monitor, 'a monitor is recorded')
  const status = readFileSync(`/proc/${monitor}/status`, 'utf8')
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1])
  const parts = ['RssAnon', 'RssFile', 'RssShmem'].map((k) => `${k} ${new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1]} kB`)
  t.log(`monitor VmRSS ${rss} kB (${parts.join(', ')})`)
  t.true(rss > 0 && rss < 4096, `monitor VmRSS ${rss} kB must stay below 4 MiB`)
  t.is((await h.cli(['delete', '--force', id])).code, 0)
})

h.it('wait without a monitor (engine create/start): status unknown, exit 255 with a message', async (t) => {
  const b = h.bundle(['sh', '-c', 'sleep 0.3'])
  t.is((await h.cli(['create', '-b', b.dir, b.id])).code, 0)
  t.is((await h.cli(['start', b.id])).code, 0)
  const w = await h.cli(['wait', b.id], { timeout: 15_000 })
  t.is(w.code, 255, describe(w))
  t.regex(w.stderr, /unknown/)
  t.is((await h.cli(['delete', b.id])).code, 0)
})
