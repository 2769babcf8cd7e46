/**
 * `lxts events` and `Container.events()/stats()` on this host's real v1 controllers:
 * runc-shaped stats JSON, OOM lines as OOM kills happen, and the stream ending by itself
 * when the container stops.
 */
import test from 'ava'
import { describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { Runtime, type ContainerEvent } from '../../ts/index.js'

const h = harness(test)
const sh = (script: string): string[] => ['sh', '-c', script]
const MiB = 1024 * 1024
/** Sleep a moment, then allocate far beyond 32 MiB (the shell holding the string is OOM-killed). */
const HOG = 'sleep 1.5; x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'

h.it('events --stats prints one runc-shaped stats line and exits', async (t) => {
  const b = h.bundle(sh('while :; do :; done'), (c) => {
    c.linux['resources'] = { memory: { limit: 64 * MiB }, pids: { limit: 50 } }
  })
  t.is((await h.cli(['create', '--bundle', b.dir, b.id])).code, 0)
  t.is((await h.cli(['start', b.id])).code, 0)
  await new Promise((r) => setTimeout(r, 300))
  const r = await h.cli(['events', '--stats', b.id])
  t.is(r.code, 0, describe(r))
  const lines = r.stdout.trim().split('\n')
  t.is(lines.length, 1, r.stdout)
  const ev = JSON.parse(lines[0] ?? '') as { type: string; id: string; data: { cpu: { usage: { total: number; percpu: number[]; user: number } }; memory: { usage: { limit: number; usage: number }; raw: Record<string, number> }; pids: { current: number; limit: number } } }
  t.is(ev.type, 'stats')
  t.is(ev.id, b.id)
  t.true(ev.data.cpu.usage.total > 0, 'cpu used')
  t.true(ev.data.cpu.usage.percpu.length >= 1)
  t.is(ev.data.memory.usage.limit, 64 * MiB)
  t.true(ev.data.memory.usage.usage > 0)
  t.true('rss' in ev.data.memory.raw || 'total_rss' in ev.data.memory.raw, Object.keys(ev.data.memory.raw).join(','))
  t.is(ev.data.pids.limit, 50)
  t.true(ev.data.pids.current >= 1)
  t.is((await h.cli(['delete', '--force', b.id])).code, 0)
})

h.it('events streams stats, reports the OOM kill, and ends when the container stops', async (t) => {
  const b = h.bundle(sh(HOG), (c) => {
    c.linux['resources'] = { memory: { limit: 32 * MiB, swap: 32 * MiB } }
  })
  t.is((await h.cli(['create', '--bundle', b.dir, b.id])).code, 0)
  t.is((await h.cli(['start', b.id])).code, 0)
  const r = await h.cli(['events', '--interval', '500ms', b.id], { timeout: 20_000 })
  t.false(r.timedOut, describe(r))
  t.is(r.code, 0, describe(r))
  const evs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; id: string })
  t.true(evs.filter((e) => e.type === 'stats').length >= 2, r.stdout)
  t.deepEqual(evs.filter((e) => e.type === 'oom'), [{ type: 'oom', id: b.id }], r.stdout)
  t.is((await h.cli(['delete', b.id])).code, 0)
})

h.it('Container.events() yields an oom event and completes; stats() reads the live group', async (t) => {
  const b = h.bundle(sh(HOG), (c) => {
    c.linux['resources'] = { memory: { limit: 32 * MiB, swap: 32 * MiB } }
  })
  const rt = new Runtime({ root: h.root() })
  const c = await rt.create(b.id, { bundle: b.dir, stdio: ['ignore', 'ignore', 'ignore'] })
  const st = await c.stats()
  t.is(st.memory.usage.limit, 32 * MiB)
  await c.start()
  const seen: ContainerEvent[] = []
  for await (const ev of c.events({ interval: 1000 })) seen.push(ev)
  t.true(seen.some((e) => e.type === 'oom'), JSON.stringify(seen.map((e) => e.type)))
  t.true(seen.some((e) => e.type === 'stats'))
  const exit = await c.wait()
  t.true(exit.oomKilled, JSON.stringify(exit))
  await c.delete()
})
