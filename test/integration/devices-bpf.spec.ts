/**
 * linux.resources.devices as a cgroup-v2 eBPF device filter. The CLI runs as on a cgroup v2
 * host (CGROUP2_VIEW: a private mount namespace whose /sys/fs/cgroup is this hybrid host's
 * cgroup2 mount alone), where the filter is the only device control: a HOST process that joins
 * the container's cgroup2 directory, and the container itself, may open only what the attached
 * program allows (config rules, then lxts's defaults; last match wins). On the hybrid host
 * itself the v1 devices controller is the authority, as with runc, and no program is attached.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { CGROUP_PARENT, cgroupMounts, type TestConfig } from '../helpers/bundle.js'
import { CGROUP2_VIEW, describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { waitFor } from '../helpers/wait.js'

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

const v2 = { wrap: CGROUP2_VIEW }

h.it('cgroup v2 host, deny-all rules: a process in the cgroup2 dir opens only the default devices; update swaps the program; allow-all detaches it', async (t) => {
  const b = h.bundle(['sleep', '1000'], (c) => {
    c.linux['resources'] = { devices: [{ allow: false, access: 'rwm' }] }
  })
  const cr = await h.cli(['create', '--bundle', b.dir, b.id], v2)
  // A container made in the view is deleted in it (the harness's own sweep runs outside).
  t.teardown(() => h.cli(['delete', '--force', b.id], v2))
  t.is(cr.code, 0, describe(cr))
  const dir = v2dir(b.id)
  t.true(existsSync(dir))
  t.deepEqual(opens(dir, ['/dev/zero', '/dev/null', '/dev/kmsg']), { '/dev/zero': 'ok', '/dev/null': 'ok', '/dev/kmsg': 'denied' })

  const res = join(b.dir, 'res.json')
  writeFileSync(res, JSON.stringify({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 11, access: 'r' }, { allow: false, type: 'c', major: 1, minor: 5, access: 'r' }] }))
  let up = await h.cli(['update', '--resources', res, b.id], v2)
  t.is(up.code, 0, describe(up))
  // The config's deny of /dev/zero read is undone by the default `c 1:5 rwm` that follows it (as on v1).
  t.deepEqual(opens(dir, ['/dev/zero', '/dev/kmsg', '/dev/full']), { '/dev/zero': 'ok', '/dev/kmsg': 'ok', '/dev/full': 'ok' })

  writeFileSync(res, JSON.stringify({ devices: [{ allow: true, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 11, access: 'rwm' }] }))
  up = await h.cli(['update', '--resources', res, b.id], v2)
  t.is(up.code, 0, describe(up))
  t.is(opens(dir, ['/dev/kmsg'])['/dev/kmsg'], 'denied', 'allow-all then deny 1:11: a blacklist')

  writeFileSync(res, JSON.stringify({ devices: [{ allow: true, access: 'rwm' }] }))
  up = await h.cli(['update', '--resources', res, b.id], v2)
  t.is(up.code, 0, describe(up))
  t.is(opens(dir, ['/dev/kmsg'])['/dev/kmsg'], 'ok', 'allow-all detached the filter')

  t.is((await h.cli(['delete', '--force', b.id], v2)).code, 0)
  t.false(existsSync(dir))
})

/**
 * In the container: make /dev/k (c 1:11, /dev/kmsg) and open it write-only (a read open would
 * also need CAP_SYSLOG under dmesg_restrict, and fail whatever the device rules said).
 */
const KMSG = 'mknod /dev/k c 1 11 && { (exec 3>/dev/k) 2>/dev/null && echo kmsg-open || echo kmsg-denied; }'
const DENY_ALL = { allow: false, access: 'rwm' }
const KMSG_WRITE = { allow: true, type: 'c', major: 1, minor: 11, access: 'w' }

function withDevices(devices: object[]): (c: TestConfig) => void {
  return (c) => {
    c.linux['resources'] = { devices }
    const caps = c.process.capabilities
    for (const k of ['bounding', 'effective', 'permitted'] as const) caps[k].push('CAP_MKNOD')
  }
}

h.it('cgroup v2 host: the container works under the filter (/dev/null, /dev/zero, mknod) and opens only what it allows', async (t) => {
  const b = h.bundle(['sh', '-c', `echo x >/dev/null && head -c 3 /dev/zero | wc -c && mknod /dev/n c 1 3 && echo made && ${KMSG}`], withDevices([DENY_ALL]))
  const r = await h.cli(['run', '--bundle', b.dir, b.id], v2)
  t.teardown(() => h.cli(['delete', '--force', b.id], v2))
  t.is(r.code, 0, describe(r))
  t.regex(r.stdout, /3\s+made\s+kmsg-denied/)
  const allowed = h.bundle(['sh', '-c', KMSG], withDevices([DENY_ALL, KMSG_WRITE]))
  const a = await h.cli(['run', '--bundle', allowed.dir, allowed.id], v2)
  t.teardown(() => h.cli(['delete', '--force', allowed.id], v2))
  t.is(a.code, 0, describe(a))
  t.is(a.stdout.trim(), 'kmsg-open', 'the same open with c 1:11 w allowed')
})

h.it('hybrid host: the v1 controller alone decides (as runc); no program on the container\'s cgroup2 dir', async (t) => {
  const mounts = cgroupMounts()
  if (!mounts.some((m) => m.version === 2) || !mounts.some((m) => m.version === 1 && m.path.endsWith('/devices'))) {
    t.pass('not a hybrid host with a v1 devices hierarchy')
    return
  }
  const b = h.bundle(['sh', '-c', `${KMSG}; sleep 1000`], withDevices([DENY_ALL]))
  const r = await h.cli(['run', '-d', '--bundle', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  const dir = v2dir(b.id)
  t.true(existsSync(dir), 'the container has a cgroup2 directory on this hybrid host')
  t.is(opens(dir, ['/dev/kmsg'])['/dev/kmsg'], 'ok', 'no eBPF program: a host process there opens /dev/kmsg')
  const said = await waitFor(async () => {
    const l = await h.cli(['logs', b.id])
    return /kmsg-/.test(l.stdout) ? l.stdout : undefined
  })
  t.is(said?.trim(), 'kmsg-denied', 'the container itself is refused by the v1 controller')
  t.is((await h.cli(['delete', '--force', b.id])).code, 0)
  const allowed = h.bundle(['sh', '-c', KMSG], withDevices([DENY_ALL, KMSG_WRITE]))
  const a = await h.cli(['run', '--bundle', allowed.dir, allowed.id])
  t.is(a.code, 0, describe(a))
  t.is(a.stdout.trim(), 'kmsg-open', 'the same open with c 1:11 w allowed')
})
