/**
 * linux.resources.devices as a cgroup-v2 eBPF device filter, on this hybrid host's real
 * cgroup2 mount. The v1 devices controller enforces the same rules for the container's
 * own processes, so to see the eBPF filter alone a HOST process joins only the
 * container's cgroup2 directory and opens host devices: what it may open is decided by
 * the attached program (config rules, then lxts's defaults; last match wins).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { CGROUP_PARENT, cgroupMounts } from '../helpers/bundle.js'
import { describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)

function v2dir(id: string): string {
  const m = cgroupMounts().find((x) => x.version === 2)
  if (m === undefined) throw new Error('no cgroup2 mount')
  return join(m.path, CGROUP_PARENT, id)
}

/** In a host shell moved into `dir` (cgroup2 only): open each device read-only; "ok" or the error. */
function opens(dir: string, devs: string[]): Record<string, string> {
  const script = `echo $$ > ${dir}/cgroup.procs || exit 90\nfor d in ${devs.join(' ')}; do if (exec 3<"$d") 2>/dev/null; then echo "$d ok"; else echo "$d denied"; fi; done`
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`probe: ${r.status} ${r.stderr}`)
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]))
}

h.it('deny-all rules: a process in the cgroup2 dir opens only the default devices; update swaps the program; allow-all detaches it', async (t) => {
  const b = h.bundle(['sleep', '1000'], (c) => {
    c.linux['resources'] = { devices: [{ allow: false, access: 'rwm' }] }
  })
  const cr = await h.cli(['create', '--bundle', b.dir, b.id])
  t.is(cr.code, 0, describe(cr))
  const dir = v2dir(b.id)
  t.true(existsSync(dir))
  t.deepEqual(opens(dir, ['/dev/zero', '/dev/null', '/dev/kmsg']), { '/dev/zero': 'ok', '/dev/null': 'ok', '/dev/kmsg': 'denied' })

  const res = join(b.dir, 'res.json')
  writeFileSync(res, JSON.stringify({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 11, access: 'r' }, { allow: false, type: 'c', major: 1, minor: 5, access: 'r' }] }))
  let up = await h.cli(['update', '--resources', res, b.id])
  t.is(up.code, 0, describe(up))
  // The config's deny of /dev/zero read is undone by the default `c 1:5 rwm` that follows it (as on v1).
  t.deepEqual(opens(dir, ['/dev/zero', '/dev/kmsg', '/dev/full']), { '/dev/zero': 'ok', '/dev/kmsg': 'ok', '/dev/full': 'ok' })

  writeFileSync(res, JSON.stringify({ devices: [{ allow: true, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 11, access: 'rwm' }] }))
  up = await h.cli(['update', '--resources', res, b.id])
  t.is(up.code, 0, describe(up))
  t.is(opens(dir, ['/dev/kmsg'])['/dev/kmsg'], 'denied', 'allow-all then deny 1:11: a blacklist')

  writeFileSync(res, JSON.stringify({ devices: [{ allow: true, access: 'rwm' }] }))
  up = await h.cli(['update', '--resources', res, b.id])
  t.is(up.code, 0, describe(up))
  t.is(opens(dir, ['/dev/kmsg'])['/dev/kmsg'], 'ok', 'allow-all detached the filter')

  t.is((await h.cli(['delete', '--force', b.id])).code, 0)
  t.false(existsSync(dir))
})

h.it('the container keeps working under the filter: /dev/null, /dev/zero and mknod (default rules)', async (t) => {
  const b = h.bundle(['sh', '-c', 'echo x >/dev/null && head -c 3 /dev/zero | wc -c && mknod /dev/n c 1 3 && echo made'], (c) => {
    c.linux['resources'] = { devices: [{ allow: false, access: 'rwm' }] }
    const caps = c.process.capabilities
    for (const k of ['bounding', 'effective', 'permitted'] as const) caps[k].push('CAP_MKNOD')
  })
  const r = await h.cli(['run', '--bundle', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  t.regex(r.stdout, /3\s+made/)
})
