/**
 * pause / resume / ps / kill --all on real containers, on this host's v1 freezer (and the
 * cgroup2 mount's cgroup.freeze when the container has a v2 group too).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import test, { type ExecutionContext } from 'ava'
import { processAlive, processesOf } from '../helpers/bundle.js'
import { describe, type CliResult } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { waitFor } from '../helpers/wait.js'

const h = harness(test)

interface State {
  status: string
  pid: number
}

function ok(t: ExecutionContext, r: CliResult): void {
  t.is(r.code, 0, describe(r))
}

async function state(t: ExecutionContext, id: string): Promise<State> {
  const r = await h.cli(['state', id])
  ok(t, r)
  return JSON.parse(r.stdout) as State
}

/** A container that writes an incrementing counter to /counter every 50 ms, with three background sleeps. */
const COUNTER = ['sh', '-c', 'sleep 1000 & sleep 1000 & sleep 1000 & i=0; while :; do i=$((i+1)); echo $i > /counter.tmp; mv /counter.tmp /counter; sleep 0.05; done']

function counter(rootfs: string): number {
  try {
    return Number(readFileSync(join(rootfs, 'counter'), 'utf8').trim())
  } catch {
    return 0
  }
}

function freezerState(id: string): string | undefined {
  const file = `/sys/fs/cgroup/freezer/lxts-test/${id}/freezer.state`
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined
}

async function started(t: ExecutionContext): Promise<{ id: string; rootfs: string; pid: number }> {
  const b = h.bundle(COUNTER, (c) => {
    c.root = { path: 'rootfs', readonly: false }
  })
  ok(t, await h.cli(['create', '--bundle', b.dir, b.id]))
  ok(t, await h.cli(['start', b.id]))
  const s = await state(t, b.id)
  const five = await waitFor(() => (processesOf(b.id).length >= 5 && counter(b.rootfs) > 0 ? true : undefined))
  t.true(five, `sh, three sleeps and the loop's sleep run: ${processesOf(b.id).join(' ')}`)
  return { id: b.id, rootfs: b.rootfs, pid: s.pid }
}

h.it('pause stops the container (counter frozen, state paused), resume lets it run again', async (t) => {
  const c = await started(t)
  ok(t, await h.cli(['pause', c.id]))
  t.is(freezerState(c.id), 'FROZEN')
  t.is((await state(t, c.id)).status, 'paused')
  const before = counter(c.rootfs)
  await sleep(500)
  t.is(counter(c.rootfs), before, 'nothing runs while paused')
  // pause twice is refused, not silently accepted
  const again = await h.cli(['pause', c.id])
  t.not(again.code, 0)
  t.regex(again.stderr, /paused.*ERR_LXTS_INVALID_STATE|ERR_LXTS_INVALID_STATE/s)
  ok(t, await h.cli(['resume', c.id]))
  t.is(freezerState(c.id), 'THAWED')
  t.is((await state(t, c.id)).status, 'running')
  const grew = await waitFor(() => (counter(c.rootfs) > before + 2 ? true : undefined), 3000)
  t.true(grew, `the counter grows after resume (${before} → ${counter(c.rootfs)})`)
  const r = await h.cli(['resume', c.id])
  t.not(r.code, 0, 'resume of a running container is refused')
  ok(t, await h.cli(['delete', '--force', c.id]))
})

h.it('ps lists every process of the container (json and table)', async (t) => {
  const c = await started(t)
  const r = await h.cli(['ps', '--format', 'json', c.id])
  ok(t, r)
  const pids = JSON.parse(r.stdout) as number[]
  const inCgroup = processesOf(c.id)
  for (const p of inCgroup.filter((p) => processAlive(p))) {
    // the loop's short sleeps come and go; the long-lived ones must be listed
    if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('1000')) t.true(pids.includes(p), `pid ${p} listed`)
  }
  t.true(pids.includes(c.pid), 'the init is listed')
  t.true(pids.filter((p) => existsSync(`/proc/${p}`) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('1000')).length >= 3, 'three sleeps')
  const table = await h.cli(['ps', c.id])
  ok(t, table)
  const lines = table.stdout.trim().split('\n')
  t.regex(lines[0] ?? '', /\bPID\b/)
  t.is(lines.filter((l) => l.endsWith(' sleep 1000')).length, 3, table.stdout)
  t.true(lines.some((l) => l.includes(String(c.pid))), 'the init is in the table')
  t.false(lines.some((l) => l.includes('lxts.js')), 'host processes are filtered out')
  const ef = await h.cli(['ps', c.id, '--', '-o', 'pid,comm'])
  ok(t, ef)
  t.regex(ef.stdout, /^\s*PID\s+COMMAND/)
  ok(t, await h.cli(['delete', '--force', c.id]))
})

h.it('kill --all reaches every process, also while paused', async (t) => {
  const c = await started(t)
  const before = processesOf(c.id)
  ok(t, await h.cli(['pause', c.id]))
  ok(t, await h.cli(['kill', '--all', c.id, 'KILL']))
  const none = await waitFor(() => (processesOf(c.id).length === 0 ? true : undefined))
  t.true(none, `every process is gone: ${processesOf(c.id).join(' ')}`)
  for (const p of before) t.false(processAlive(p), `pid ${p} is gone`)
  t.is((await state(t, c.id)).status, 'stopped')
  ok(t, await h.cli(['delete', c.id]))
})

h.it('kill --all TERM of a running container signals each process (freeze, pidfds, thaw)', async (t) => {
  const b = h.bundle(['sh', '-c', 'trap "exit 0" TERM; sleep 1000 & sleep 1000 & while :; do sleep 0.05; done'])
  ok(t, await h.cli(['create', '--bundle', b.dir, b.id]))
  ok(t, await h.cli(['start', b.id]))
  await waitFor(() => (processesOf(b.id).length >= 3 ? true : undefined))
  ok(t, await h.cli(['kill', '--all', b.id, 'TERM']))
  const none = await waitFor(() => (processesOf(b.id).length === 0 ? true : undefined))
  t.true(none, `TERM reached every process: ${processesOf(b.id).join(' ')}`)
  t.is(freezerState(b.id), 'THAWED', 'the group is thawed again')
  ok(t, await h.cli(['delete', b.id]))
})

h.it('delete --force of a paused container leaves nothing', async (t) => {
  const c = await started(t)
  const before = processesOf(c.id)
  ok(t, await h.cli(['pause', c.id]))
  const plain = await h.cli(['delete', c.id])
  t.not(plain.code, 0, 'plain delete of a paused container is refused')
  ok(t, await h.cli(['delete', '--force', c.id]))
  for (const p of before) t.false(processAlive(p), `pid ${p} is gone`)
  t.false(existsSync(join(h.root(), c.id)))
  t.is(freezerState(c.id), undefined, 'the freezer group is removed')
})
