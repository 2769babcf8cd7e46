/**
 * `--init`: PID 1 stays a tiny init that reaps orphaned zombies, forwards signals to the
 * workload and exits with its status. Without it the workload is PID 1, and the tests show
 * what that costs (zombies pile up, TERM is ignored by a process without a handler).
 */
import { readdirSync, readFileSync } from 'node:fs'
import test, { type ExecutionContext } from 'ava'
import { CGROUP_PARENT, processAlive } from '../helpers/bundle.js'
import { describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { waitFor } from '../helpers/wait.js'
import { Runtime } from '../../ts/index.js'

const h = harness(test)

/** Orphans two children (their parents exit at once), then PID 1 (without --init: sleep) never waits. */
const ORPHANS = ['sh', '-c', '(sleep 0.2 &) ; (sleep 0.2 &); exec sleep 1000']

/** Processes in the container's cgroup by state letter. */
function statesOf(id: string): string[] {
  const needle = `${CGROUP_PARENT}/${id}`
  const out: string[] = []
  for (const ent of readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue
    try {
      if (!readFileSync(`/proc/${ent}/cgroup`, 'utf8').split('\n').some((l) => l.endsWith(needle))) continue
      const stat = readFileSync(`/proc/${ent}/stat`, 'utf8')
      out.push(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))
    } catch {
      // raced with exit
    }
  }
  return out
}

function initPid(id: string): number {
  return (JSON.parse(readFileSync(`${h.root()}/${id}/state.json`, 'utf8')) as { pid: number }).pid
}

async function runDetached(t: ExecutionContext, args: string[], init: boolean): Promise<string> {
  const b = h.bundle(args)
  const r = await h.cli(['run', '-d', ...(init ? ['--init'] : []), '-b', b.dir, b.id], { timeout: 15_000 })
  t.is(r.code, 0, describe(r))
  return b.id
}

h.it('--init reaps orphaned zombies; without it they stay', async (t) => {
  const withInit = await runDetached(t, ORPHANS, true)
  const without = await runDetached(t, ORPHANS, false)
  // the orphans exit after 0.2 s; give PID 1 time to (not) reap them
  const settled = await waitFor(() => (statesOf(without).filter((s) => s === 'Z').length === 2 ? true : undefined), 5000)
  t.true(settled, `without --init the two orphans stay zombies: states ${statesOf(without).join(',')}`)
  await new Promise((r) => setTimeout(r, 300))
  const states = statesOf(withInit)
  t.deepEqual(states.filter((s) => s === 'Z'), [], `with --init no zombie: states ${states.join(',')}`)
  t.is(states.length, 2, 'init + the workload')
  for (const id of [withInit, without]) t.is((await h.cli(['delete', '--force', id])).code, 0)
})

h.it('--init forwards TERM to the workload: a trap runs, and a workload killed by TERM gives 143', async (t) => {
  const trap = await runDetached(t, ['sh', '-c', 'trap "echo trapped; exit 7" TERM; while :; do sleep 0.1; done'], true)
  const plain = await runDetached(t, ['sleep', '1000'], true)
  await new Promise((r) => setTimeout(r, 300))
  for (const id of [trap, plain]) t.is((await h.cli(['kill', id, 'TERM'])).code, 0)
  const w1 = await h.cli(['wait', trap], { timeout: 15_000 })
  t.is(w1.code, 7, describe(w1))
  t.regex((await h.cli(['logs', trap])).stdout, /trapped/)
  const w2 = await h.cli(['wait', '--format', 'json', plain], { timeout: 15_000 })
  t.is(w2.code, 143, describe(w2))
  t.deepEqual(JSON.parse(w2.stdout), { exitCode: 143, signal: null, oomKilled: false })
  for (const id of [trap, plain]) t.is((await h.cli(['delete', id])).code, 0)
})

h.it('without --init a PID 1 without a TERM handler ignores TERM (why --init matters)', async (t) => {
  const id = await runDetached(t, ['sleep', '1000'], false)
  const pid = initPid(id)
  t.is((await h.cli(['kill', id, 'TERM'])).code, 0)
  await new Promise((r) => setTimeout(r, 500))
  t.true(processAlive(pid), 'sleep as PID 1 survives TERM')
  t.is((await h.cli(['kill', id, 'KILL'])).code, 0)
  const w = await h.cli(['wait', id], { timeout: 15_000 })
  t.is(w.code, 137, describe(w))
  t.is((await h.cli(['delete', id])).code, 0)
})

h.it('--init in the foreground: the exit status is the workload\'s', async (t) => {
  const b = h.bundle(['sh', '-c', '(sleep 0.1 &); echo pid=$$; tr "\\0" " " < /proc/1/cmdline; echo; cat /proc/1/comm; exit 4'])
  const r = await h.cli(['run', '--init', '-b', b.dir, b.id], { timeout: 15_000 })
  t.is(r.code, 4, describe(r))
  // PID 1 shows as lxts-init, not as the helper's host path
  t.deepEqual(r.stdout.trim().split('\n').map((l) => l.trim()), ['pid=2', 'lxts-init', 'lxts-init'], 'the workload is PID 2 under the init')
})

h.it('library: initForwardToGroup sends signals to the workload\'s whole process group', async (t) => {
  const script = 'sleep 1000 & p=$!; trap "sleep 0.2; kill -0 $p 2>/dev/null && echo sleep-alive || echo sleep-dead; exit 0" TERM; wait'
  const rt = new Runtime({ root: h.root() })
  const seen: string[] = []
  for (const group of [true, false]) {
    const b = h.bundle(['sh', '-c', script])
    const c = await rt.create(b.id, { bundle: b.dir, init: true, initForwardToGroup: group, log: true })
    await c.start()
    await new Promise((r) => setTimeout(r, 300))
    await c.kill('TERM')
    t.deepEqual(await c.wait(), { exitCode: 0, signal: null, oomKilled: false })
    for await (const chunk of c.logs()) seen.push(`${group ? 'group' : 'process'}: ${chunk.toString().trim()}`)
    await c.delete()
  }
  t.deepEqual(seen, ['group: sleep-dead', 'process: sleep-alive'])
})
