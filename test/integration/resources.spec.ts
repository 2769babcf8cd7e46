/**
 * linux.resources on this host's REAL v1 controllers (hybrid host: cgroup2 is mounted but
 * holds no controllers, so v2 is covered by the Rust unit tests on a fake tree only):
 * OOM kill under a memory limit, a contained fork bomb, a CPU quota, live `update`,
 * devices.list order, and field-named errors that leave nothing behind.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import test, { type ExecutionContext } from 'ava'
import { CGROUP_PARENT, cgroupMounts, type TestConfig } from '../helpers/bundle.js'
import { describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { readAll } from '../helpers/stream.js'
import { waitFor } from '../helpers/wait.js'
import { Runtime } from '../../ts/index.js'

const h = harness(test)
const sh = (script: string): string[] => ['sh', '-c', script]
const MiB = 1024 * 1024

/** The container's directory in the v1 hierarchy carrying `controller`. */
function v1dir(controller: string, id: string): string {
  const m = cgroupMounts().find((x) => x.version === 1 && x.path.split('/').pop()?.split(',').includes(controller))
  if (m === undefined) throw new Error(`no v1 ${controller} hierarchy`)
  return join(m.path, CGROUP_PARENT, id)
}
const read = (controller: string, id: string, file: string): string => readFileSync(join(v1dir(controller, id), file), 'utf8').trim()

/** CPU share of one core used by the container over `ms` (cpuacct.usage, ns). */
async function cpuShare(id: string, ms: number): Promise<number> {
  const a = Number(read('cpuacct', id, 'cpuacct.usage'))
  const t0 = process.hrtime.bigint()
  await sleep(ms)
  const b = Number(read('cpuacct', id, 'cpuacct.usage'))
  const dt = Number(process.hrtime.bigint() - t0)
  return (b - a) / dt
}

async function createStarted(t: ExecutionContext, args: string[], edit: (c: TestConfig) => void): Promise<string> {
  const b = h.bundle(args, edit)
  const cr = await h.cli(['create', '--bundle', b.dir, b.id])
  t.is(cr.code, 0, describe(cr))
  const st = await h.cli(['start', b.id])
  t.is(st.code, 0, describe(st))
  return b.id
}

h.it('memory limit of 32 MiB: the allocating process is OOM-killed and wait()/state report oomKilled', async (t) => {
  const b = h.bundle(sh('x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived ${#x}'), (c) => {
    c.linux['resources'] = { memory: { limit: 32 * MiB, swap: 32 * MiB } }
  })
  const rt = new Runtime({ root: h.root() })
  const c = await rt.create(b.id, { bundle: b.dir, stdio: ['ignore', 'pipe', 'inherit'] })
  t.is(read('memory', b.id, 'memory.limit_in_bytes'), String(32 * MiB))
  t.is(read('memory', b.id, 'memory.memsw.limit_in_bytes'), String(32 * MiB))
  const out = readAll(c.stdio[1])
  await c.start()
  const exit = await c.wait()
  t.is(exit.signal, 9, JSON.stringify(exit))
  t.true(exit.oomKilled, `oomKilled in ${JSON.stringify(exit)}`)
  t.notRegex(await out, /survived/)
  const st = await c.state()
  t.true(st.exitStatus?.oomKilled, JSON.stringify(st))
  await c.delete()
})

h.it('pids.max 64 contains a fork bomb; the host is fine and the container is killed after', async (t) => {
  const id = await createStarted(t, sh('i=0; while [ $i -lt 300 ]; do sleep 30 & i=$((i+1)); done 2>/dev/null; echo spawned; sleep 30'), (c) => {
    c.linux['resources'] = { pids: { limit: 64 } }
  })
  t.is(read('pids', id, 'pids.max'), '64')
  let peak = 0
  const hit = await waitFor(() => {
    const cur = Number(read('pids', id, 'pids.current'))
    peak = Math.max(peak, cur)
    const events = read('pids', id, 'pids.events')
    return /max [1-9]/.test(events) ? events : undefined
  }, 15_000)
  t.truthy(hit, `fork failures recorded in pids.events (peak ${peak})`)
  for (let i = 0; i < 10; i++, await sleep(50)) peak = Math.max(peak, Number(read('pids', id, 'pids.current')))
  // busybox sh gives up (exits) at the first failed fork, so the count then falls again
  t.true(peak <= 64, `pids.current peaked at ${peak}`)
  t.true(/^[0-9]/.test(readFileSync('/proc/loadavg', 'utf8')), 'the host still answers')
  const del = await h.cli(['delete', '--force', id])
  t.is(del.code, 0, describe(del))
  t.false(existsSync(v1dir('pids', id)))
})

h.it('cpu quota 0.2 holds a busy loop near 20% of a core', async (t) => {
  const id = await createStarted(t, sh('while :; do :; done'), (c) => {
    c.linux['resources'] = { cpu: { quota: 20000, period: 100000 } }
  })
  t.is(read('cpu', id, 'cpu.cfs_quota_us'), '20000')
  await sleep(300)
  const share = await cpuShare(id, 2000)
  t.log(`busy loop under quota 0.2: ${(share * 100).toFixed(1)}%`)
  t.true(share > 0.1 && share < 0.3, `${share}`)
  t.is((await h.cli(['delete', '--force', id])).code, 0)
})

h.it('update changes live limits (flags and --resources - on stdin) and the change is felt', async (t) => {
  const id = await createStarted(t, sh('while :; do :; done'), (c) => {
    c.linux['resources'] = { memory: { limit: 64 * MiB }, pids: { limit: 32 } }
  })
  await sleep(300)
  // The machine is shared: unthrottled, the loop gets whatever is free (logged, not asserted).
  const before = await cpuShare(id, 1000)
  const u = await h.cli(['update', '--memory', '48m', '--pids-limit', '20', '--cpu-quota', '20000', '--cpu-period', '100000', id])
  t.is(u.code, 0, describe(u))
  t.is(read('memory', id, 'memory.limit_in_bytes'), String(48 * MiB))
  t.is(read('pids', id, 'pids.max'), '20')
  await sleep(300)
  const after = await cpuShare(id, 2000)
  t.log(`busy loop before ${(before * 100).toFixed(1)}%, after update ${(after * 100).toFixed(1)}%`)
  t.true(after > 0.05 && after < 0.3, `${after}`)
  t.is(read('cpu', id, 'cpu.cfs_quota_us'), '20000')
  const s = await h.cli(['update', '--resources', '-', id], { input: JSON.stringify({ pids: { limit: 10 }, cpu: { quota: -1 } }) })
  t.is(s.code, 0, describe(s))
  t.is(read('pids', id, 'pids.max'), '10')
  t.is(read('cpu', id, 'cpu.cfs_quota_us'), '-1')
  const saved = JSON.parse(readFileSync(join(h.root(), id, 'config.json'), 'utf8')) as { linux: { resources: { memory: { limit: number }; pids: { limit: number } } } }
  t.is(saved.linux.resources.memory.limit, 48 * MiB, 'merged into the saved config')
  t.is(saved.linux.resources.pids.limit, 10)
  const bad = await h.cli(['update', '--memory', 'lots', id])
  t.not(bad.code, 0)
  t.regex(bad.stderr, /--memory/)
  const bad2 = await h.cli(['update', '--resources', '-', id], { input: '{"memory":{"limit":"x"}}' })
  t.not(bad2.code, 0)
  t.regex(bad2.stderr, /linux\.resources\.memory\.limit/)
  t.is((await h.cli(['delete', '--force', id])).code, 0)
})

h.it('devices.list shows the configured allow rules in config order, then the lxts defaults', async (t) => {
  const b = h.bundle(['sleep', '1000'], (c) => {
    c.linux['resources'] = {
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
        { allow: true, type: 'b', major: 7, minor: -1, access: 'r' },
        { allow: true, type: 'c', major: 4, minor: 1, access: 'rwm' },
      ],
    }
  })
  const cr = await h.cli(['create', '--bundle', b.dir, b.id])
  t.is(cr.code, 0, describe(cr))
  const list = read('devices', b.id, 'devices.list').split('\n')
  t.deepEqual(list.slice(0, 3), ['c 10:229 rw', 'b 7:* r', 'c 4:1 rwm'], list.join('\n'))
  t.deepEqual(list.slice(3), ['c *:* m', 'b *:* m', 'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 5:0 rwm', 'c 5:2 rwm', 'c 136:* rwm'])
  t.is((await h.cli(['delete', '--force', b.id])).code, 0)
})

for (const [name, res, code, pattern] of [
  ['hugepageLimits without hugetlb', { hugepageLimits: [{ pageSize: '2MB', limit: 2 * MiB }] }, 'ERR_LXTS_CGROUP', /linux\.resources\.hugepageLimits: hugetlb controller not mounted/],
  ['network.classID without net_cls', { network: { classID: 0x100001 } }, 'ERR_LXTS_CGROUP', /linux\.resources\.network\.classID: net_cls controller not mounted/],
  ['unified on a v1 host', { unified: { 'memory.high': '1000000' } }, 'ERR_LXTS_CGROUP', /linux\.resources\.unified: needs a cgroup v2 host/],
  ['blockIO.leafWeight (no blkio.leaf_weight on this kernel)', { blockIO: { leafWeight: 500 } }, 'ERR_LXTS_CGROUP', /linux\.resources\.blockIO\.leafWeight: .*blkio\.leaf_weight does not exist/],
  ['swappiness out of range', { memory: { swappiness: 101 } }, 'ERR_LXTS_INVALID_CONFIG', /linux\.resources\.memory\.swappiness/],
  ['bad pageSize', { hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, 'ERR_LXTS_INVALID_CONFIG', /linux\.resources\.hugepageLimits\[0\]\.pageSize/],
  ['unified key with a slash', { unified: { '../memory.max': '1' } }, 'ERR_LXTS_INVALID_CONFIG', /linux\.resources\.unified/],
  ['non-integer cpu shares', { cpu: { shares: 'many' } }, 'ERR_LXTS_INVALID_CONFIG', /linux\.resources\.cpu\.shares/],
  ['device rule of type x', { devices: [{ allow: true, type: 'x' }] }, 'ERR_LXTS_INVALID_CONFIG', /linux\.resources\.devices\[0\]\.type/],
] as const) {
  h.it(`refused, naming the field, leaving nothing: ${name}`, async (t) => {
    const b = h.bundle(['true'], (c) => {
      c.linux['resources'] = res
    })
    const r = await h.cli(['create', '--bundle', b.dir, b.id])
    t.not(r.code, 0, describe(r))
    t.regex(r.stderr, new RegExp(code), describe(r))
    t.regex(r.stderr, pattern, describe(r))
    t.false(existsSync(join(h.root(), b.id)), 'no state dir')
    t.false(existsSync(v1dir('memory', b.id)), 'no cgroup')
  })
}
