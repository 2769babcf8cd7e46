import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'

import { defaultSpec } from '../../ts/config/defaults.js'
import { buildPlan, cgroupPath, ownCgroupPath } from '../../ts/config/plan.js'
import { LxtsError } from '../../ts/errors.js'

function bundle(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-plan-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'rootfs'))
  return dir
}

const opts = (b: string) => ({ mode: 'create' as const, id: 'c1', bundle: b, stateDir: '/run/lxts/c1', ownCgroup: '/user/me' })

test('root.path and relative bind sources resolve against the bundle', (t) => {
  const b = bundle(t)
  const c = defaultSpec()
  c.mounts?.push({ destination: '/data', type: 'bind', source: 'data', options: ['rbind'] })
  c.mounts?.push({ destination: '/abs', type: 'none', source: '/srv', options: ['bind'] })
  c.mounts?.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs' })
  const p = buildPlan(c, opts(b))
  t.is(p.config.root?.path, join(b, 'rootfs'))
  const m = new Map((p.config.mounts ?? []).map((x) => [x.destination, x]))
  t.is(m.get('/data')?.source, join(b, 'data'))
  t.is(m.get('/abs')?.source, '/srv')
  t.is(m.get('/t')?.source, 'tmpfs', 'non-bind sources untouched')
  t.is(m.get('/proc')?.source, 'proc')
  t.is(c.root?.path, 'rootfs', 'the input config is not mutated')
  t.like(p, { mode: 'create', id: 'c1', bundle: b, stateDir: '/run/lxts/c1', noPivot: false, preserveFds: 0, consoleSocket: null })
  t.deepEqual(p.cgroup, { path: '/lxts/c1' })
})

test('root.path must exist as a directory: ERR_LXTS_BUNDLE', (t) => {
  const b = bundle(t)
  const c = defaultSpec()
  c.root = { path: 'missing' }
  t.throws(() => buildPlan(c, opts(b)), { instanceOf: LxtsError, code: 'ERR_LXTS_BUNDLE' } as never)
  writeFileSync(join(b, 'file'), '')
  c.root = { path: 'file' }
  const e = t.throws(() => buildPlan(c, opts(b)), { instanceOf: LxtsError })
  t.is(e?.code, 'ERR_LXTS_BUNDLE')
  t.regex(e?.message ?? '', /not a directory/)
  c.root = { path: join(b, 'rootfs') }
  t.is(buildPlan(c, opts(b)).config.root?.path, join(b, 'rootfs'), 'absolute root as is')
})

test('cgroup paths: absent, absolute, relative, systemd', (t) => {
  t.is(cgroupPath(undefined, 'c1', '/x'), '/lxts/c1')
  t.is(cgroupPath('/my/group', 'c1', '/x'), '/my/group')
  t.is(cgroupPath('my/group', 'c1', '/user/me'), '/user/me/my/group')
  t.is(cgroupPath('g', 'c1', '/'), '/g')
  t.throws(() => cgroupPath('system.slice:lxts:c1', 'c1'), { code: 'ERR_LXTS_UNSUPPORTED' } as never)
  t.throws(() => cgroupPath('/', 'c1'), { code: 'ERR_LXTS_INVALID_CONFIG' } as never)
  t.throws(() => cgroupPath('../../escape', 'c1', '/a'), { code: 'ERR_LXTS_INVALID_CONFIG' } as never)
})

test('own cgroup: v1 memory line, else unified, else /', (t) => {
  const hybrid = '12:pids:/p\n5:memory:/lxts-mem\n1:name=systemd:/s\n0::/unified-path\n'
  t.is(ownCgroupPath(hybrid), '/lxts-mem')
  t.is(ownCgroupPath('0::/user.slice/x\n'), '/user.slice/x')
  t.is(ownCgroupPath('6:cpu,memory:/both\n'), '/both')
  t.is(ownCgroupPath(''), '/')
  t.is(typeof ownCgroupPath(), 'string')
})

test('plan options pass through', (t) => {
  const b = bundle(t)
  const p = buildPlan(defaultSpec(), { ...opts(b), mode: 'monitor', noPivot: true, preserveFds: 2, consoleSocket: '/tmp/s' })
  t.like(p, { mode: 'monitor', noPivot: true, preserveFds: 2, consoleSocket: '/tmp/s' })
})
