/**
 * A config without a mount namespace (OCI: inherited from the runtime, runtime-tools'
 * linux_ns_itype): the container's mounts are made inside its rootfs in the HOST's mount
 * namespace and the root is a chroot. Every way a container ends must detach all of them:
 * delete, delete --force of a running one, a create failing half-way, run --rm, run -d --rm,
 * the recovery of a corrupt state. The harness also fails the file on any mount left under a bundle.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import type { Bundle, TestConfig } from '../helpers/bundle.js'
import { CLI, describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)
const sh = (script: string): string[] => ['sh', '-c', script]

function noMountNs(c: TestConfig): void {
  c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'mount')
}

/** Mount points (host view) at or under `dir`. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((mp) => mp === dir || mp.startsWith(dir + '/'))
}

/** The host's mountinfo line of the mount holding `path`, without its ids (fields 1-2). */
function hostMountOf(path: string): string {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l !== '')
  const best = lines
    .map((l) => l.split(' '))
    .filter((f) => f[4] !== undefined && (path === f[4] || path.startsWith(f[4] === '/' ? '/' : f[4] + '/')))
    .sort((a, b) => (b[4] ?? '').length - (a[4] ?? '').length)[0]
  return (best ?? []).slice(2).join(' ')
}

function assertClean(t: ExecutionContext, b: Bundle): void {
  t.deepEqual(mountsUnder(b.dir), [], 'no mount may remain under the bundle')
  t.false(existsSync(join(h.root(), b.id)), 'the state dir is gone')
  const links = readdirSync(h.root()).filter((n) => n.startsWith('.root-mount-') && readlinkSync(join(h.root(), n)) === b.id)
  t.deepEqual(links, [], 'no index link in the state root names the container')
}

/** `create` of the edited bundle fails with ERR_LXTS_INVALID_CONFIG naming `field`, leaving nothing. */
async function refusedNaming(t: ExecutionContext, edit: (c: TestConfig) => void, field: RegExp): Promise<void> {
  const b = h.bundle(['true'], edit)
  const r = await h.cli(['create', '-b', b.dir, b.id])
  t.not(r.code, 0)
  t.regex(r.stderr, /ERR_LXTS_INVALID_CONFIG/, describe(r))
  t.regex(r.stderr, field)
  assertClean(t, b)
}

/** `delete --force` succeeds and leaves no mount and no state behind. */
async function deleteClean(t: ExecutionContext, b: Bundle): Promise<void> {
  const d = await h.cli(['delete', '--force', b.id])
  t.is(d.code, 0, describe(d))
  assertClean(t, b)
}

h.it('run --rm: the config mounts are there, the mount ns is the host\'s, the root is read-only, nothing remains', async (t) => {
  const hostNs = readlinkSync('/proc/self/ns/mnt')
  const script = [
    'readlink /proc/self/ns/mnt',
    'cat /lxts-marker',
    // the config's mounts, seen from inside (the chroot hides everything outside the rootfs)
    "awk '{print $5}' /proc/self/mountinfo | sort",
    'echo x > /probe 2>/dev/null && echo ROOT-WRITABLE',
    'echo y > /tmp/t/f && cat /tmp/t/f',
    'wc -c < /proc/timer_list',
    'ls /dev/null /dev/pts/ptmx >/dev/null && echo devs',
  ].join('; ')
  const b = h.bundle(sh(script), (c) => {
    noMountNs(c)
    c.mounts.push({ destination: '/tmp/t', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] })
  })
  const before = hostMountOf(b.rootfs)
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  const [ns, marker, ...rest] = r.stdout.trim().split('\n')
  t.is(ns, hostNs, 'the container is in the host mount namespace')
  t.is(marker, `marker-${b.id}`, '/ is the bundle rootfs')
  for (const mp of ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/tmp/t', '/proc/timer_list', '/proc/sys']) {
    t.true(rest.includes(mp), `${mp} is mounted inside: ${r.stdout}`)
  }
  t.false(r.stdout.includes('ROOT-WRITABLE'), 'root.readonly holds')
  t.true(rest.includes('y'), 'the tmpfs is writable')
  t.true(rest.includes('0'), '/proc/timer_list is masked with /dev/null')
  t.true(rest.includes('devs'))
  assertClean(t, b)
  // the read-only remount was of lxts's own bind, never of the host mount holding the bundle
  t.is(hostMountOf(b.rootfs), before, 'the host mount holding the rootfs is unchanged')
  writeFileSync(join(b.rootfs, 'host-write'), 'ok')
  rmSync(join(b.rootfs, 'host-write'))
})

h.it('every namespace absent (runtime-tools linux_ns_itype): each /proc/<pid>/ns/* is the host\'s', async (t) => {
  const b = h.bundle(['sleep', '30'], (c) => {
    c.linux.namespaces = []
    delete (c as Partial<TestConfig>).hostname
  })
  const r = await h.cli(['create', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  const state = JSON.parse((await h.cli(['state', b.id])).stdout) as { pid: number }
  for (const ns of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts']) {
    t.is(readlinkSync(`/proc/${state.pid}/ns/${ns}`), readlinkSync(`/proc/self/ns/${ns}`), ns)
  }
  t.true(mountsUnder(b.rootfs).includes(join(b.rootfs, 'proc')), 'its /proc is mounted in the host namespace while it exists')
  await deleteClean(t, b)
})

h.it('create, exec (into the chroot), delete --force of the running container: its mounts all go', async (t) => {
  const b = h.bundle(['sleep', '30'], noMountNs)
  t.is((await h.cli(['create', '-b', b.dir, b.id])).code, 0)
  t.true(existsSync(join(h.root(), b.id, 'root-mount')), 'the rootfs mount is recorded')
  t.true(readdirSync(h.root()).some((n) => n.startsWith('.root-mount-') && readlinkSync(join(h.root(), n)) === b.id), 'and indexed in the state root')
  t.true(mountsUnder(b.rootfs).length >= 6, mountsUnder(b.rootfs).join(' '))
  t.is((await h.cli(['start', b.id])).code, 0)
  const e = await h.cli(['exec', b.id, 'cat', '/lxts-marker'])
  t.is(e.code, 0, describe(e))
  t.is(e.stdout, `marker-${b.id}\n`, 'exec runs in the container root, not the host\'s')
  await deleteClean(t, b)
})

h.it('exec from another mount namespace (and with a boottime offset) still lands in the chroot', async (t) => {
  const b = h.bundle(['sleep', '30'], (c) => {
    noMountNs(c)
    c.linux.namespaces.push({ type: 'time' })
    ;(c.linux as Record<string, unknown>)['timeOffsets'] = { boottime: { secs: 1_000_000, nanosecs: 0 } }
  })
  t.is((await h.cli(['create', '-b', b.dir, b.id])).code, 0)
  t.is((await h.cli(['start', b.id])).code, 0)
  const inside = await h.cli(['exec', b.id, 'cat', '/lxts-marker'])
  t.is(inside.stdout, `marker-${b.id}\n`, describe(inside))
  // `lxts exec` run from a private mount namespace: setns then gives the init's namespace's /,
  // which is the host's; the exec'd process must still be in the container's root.
  const out = execFileSync('unshare', ['-m', '--propagation', 'private', process.execPath, CLI, '--root', h.root(), 'exec', b.id, 'cat', '/lxts-marker'], {
    encoding: 'utf8',
  })
  t.is(out, `marker-${b.id}\n`)
  await deleteClean(t, b)
})

h.it('a rootfs that is the root of a running container without a mount namespace is refused', async (t) => {
  const a = h.bundle(['sleep', '30'], noMountNs)
  t.is((await h.cli(['create', '-b', a.dir, a.id])).code, 0)
  // Its rootfs bind (with /proc, /dev…) now sits at a.rootfs in the host's namespace.
  await h.refusedAtCreate(t, (c) => (c.root.path = a.rootfs), new RegExp(`root\\.path .*root of container "${a.id}"`))
  await deleteClean(t, a)
})

h.it('mounts the container stacks on its own / and below are detached too', async (t) => {
  const b = h.bundle(sh('mount -t tmpfs none /tmp && mount -t tmpfs none / && echo stacked'), (c) => {
    noMountNs(c)
    c.process.capabilities.bounding.push('CAP_SYS_ADMIN')
    c.process.capabilities.effective.push('CAP_SYS_ADMIN')
    c.process.capabilities.permitted.push('CAP_SYS_ADMIN')
  })
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  t.is(r.stdout, 'stacked\n')
  assertClean(t, b)
})

h.it('a mount namespace "joined" by a path naming its own is treated as absent: no pivot_root of its /', async (t) => {
  // Run in a throwaway mount namespace, so a regression pivots that one, not the host's.
  const b = h.bundle(sh('cat /lxts-marker'), (c) => {
    c.linux.namespaces = c.linux.namespaces.map((n) => (n.type === 'mount' ? { type: 'mount', path: '/proc/self/ns/mnt' } : n))
  })
  const rootLine = "awk '$5 == \"/\" {$1 = $2 = \"\"; print}' /proc/self/mountinfo"
  const script = `${rootLine}; "$0" "$1" --root "$2" run --rm -b "$3" "$4" && ${rootLine} && (grep -c " $3/" /proc/self/mountinfo || true)`
  const out = execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, process.execPath, CLI, h.root(), b.dir, b.id], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).split('\n')
  t.is(out[1], `marker-${b.id}`, out.join('\n'))
  t.is(out[2], out[0], 'the namespace\'s / is the same mount before and after')
  t.is(out[3], '0', 'no mount left under the bundle')
  t.false(existsSync(join(h.root(), b.id)))
})

h.it('a create failing half-way (a bad mount after /proc, /dev, /sys) leaves no mount', async (t) => {
  const b = h.bundle(['true'], (c) => {
    noMountNs(c)
    c.mounts.push({ destination: '/m', type: 'lxtsbogusfs', source: 'x' })
  })
  const r = await h.cli(['create', '-b', b.dir, b.id])
  t.not(r.code, 0)
  t.regex(r.stderr, /ERR_LXTS_MOUNT/, describe(r))
  t.regex(r.stderr, /\/m/)
  assertClean(t, b)
})

h.it('rootfsPropagation without a mount namespace is refused by name, before anything is made', async (t) => {
  await refusedNaming(t, (c) => {
    noMountNs(c)
    ;(c.linux as Record<string, unknown>)['rootfsPropagation'] = 'shared'
  }, /linux\.rootfsPropagation/)
})

h.it('a user namespace without a mount namespace is refused by name (its root cannot mount in the host\'s)', async (t) => {
  await refusedNaming(t, (c) => {
    noMountNs(c)
    c.linux.namespaces.push({ type: 'user' })
    c.linux['uidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
    c.linux['gidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
  }, /linux\.namespaces/)
})

h.it('run -d --rm: the monitor detaches the mounts when the container ends', async (t) => {
  const b = h.bundle(['sleep', '30'], noMountNs)
  const r = await h.cli(['run', '-d', '--rm', '-b', b.dir, b.id], { timeout: 15_000 })
  t.is(r.code, 0, describe(r))
  t.true(mountsUnder(b.rootfs).length > 0)
  t.is((await h.cli(['kill', b.id, 'KILL'])).code, 0)
  for (let i = 0; i < 100 && existsSync(join(h.root(), b.id)); i++) await new Promise((res) => setTimeout(res, 50))
  assertClean(t, b)
})

h.it('delete --force of a container whose state.json is corrupt still detaches its mounts', async (t) => {
  const b = h.bundle(['sleep', '30'], noMountNs)
  t.is((await h.cli(['create', '-b', b.dir, b.id])).code, 0)
  writeFileSync(join(h.root(), b.id, 'state.json'), '{garbage')
  await deleteClean(t, b)
})
