/**
 * Idmapped bind mounts (runtime-spec mounts[].uidMappings/gidMappings, options idmap/ridmap):
 * the source's on-disk owners are seen through the mount's mapping, in a user-namespaced
 * container and without one; ridmap maps every mount of an rbind tree, idmap only its top;
 * the bind's other options still apply; a mapping that cannot be honoured is refused at create
 * with the mount named and nothing left behind.
 */
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { release, tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import type { IdMap, TestConfig } from '../helpers/bundle.js'
import { describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)
const USERNS: IdMap[] = [{ containerID: 0, hostID: 100000, size: 65536 }]

/** A source directory (traversable by a mapped root) with `a` owned 0:0 and `b` owned 1:1. */
function source(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-idmap-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  execFileSync('chmod', ['0755', dir])
  writeFileSync(join(dir, 'a'), 'a\n')
  writeFileSync(join(dir, 'b'), 'b\n')
  chownSync(join(dir, 'b'), 1, 1)
  return dir
}

function withUserns(c: TestConfig): void {
  c.linux.namespaces.push({ type: 'user' })
  c.linux['uidMappings'] = USERNS
  c.linux['gidMappings'] = USERNS
}

const owners = (dirs: string[]): string => dirs.map((d) => `stat -c %n=%u:%g ${d}/a ${d}/b`).join('; ')

h.it('in a user namespace: an idmapped bind shows host 0:0 and 1:1 as 0:0 and 1:1, a plain one as nobody', async (t) => {
  const src = source(t)
  const script = `${owners(['/tmp/own', '/tmp/ns', '/tmp/plain'])}; touch /tmp/own/new; touch /tmp/ns/ro 2>&1 || true`
  const b = h.bundle(['sh', '-c', script], (c) => {
    withUserns(c)
    c.mounts.push(
      { destination: '/tmp/own', type: 'bind', source: src, options: ['rbind', 'idmap'], uidMappings: USERNS, gidMappings: USERNS },
      // idmap alone: the container's own mappings
      { destination: '/tmp/ns', type: 'bind', source: src, options: ['bind', 'ro', 'idmap'] },
      { destination: '/tmp/plain', type: 'bind', source: src, options: ['bind', 'ro'] },
    )
  })
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  for (const m of ['own', 'ns']) {
    t.regex(r.stdout, new RegExp(`^/tmp/${m}/a=0:0$`, 'm'), describe(r))
    t.regex(r.stdout, new RegExp(`^/tmp/${m}/b=1:1$`, 'm'), describe(r))
  }
  t.regex(r.stdout, /^\/tmp\/plain\/a=65534:65534$/m, 'control: without the mapping, host root is nobody here')
  const created = statSync(join(src, 'new'))
  t.deepEqual([created.uid, created.gid], [0, 0], "the container's root writes through the mapping as host 0:0")
  t.regex(r.stdout, /ro: Read-only file system/, 'the bind keeps its ro option')
})

h.it('without a user namespace: the mount mapping alone moves the owners (0 -> 1000, 0 -> 2000)', async (t) => {
  const src = source(t)
  const map = (hostID: number): IdMap[] => [{ containerID: 0, hostID, size: 2 }]
  const b = h.bundle(['sh', '-c', owners(['/tmp/m'])], (c) => {
    c.mounts.push({ destination: '/tmp/m', type: 'bind', source: src, options: ['bind', 'idmap'], uidMappings: map(1000), gidMappings: map(2000) })
  })
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  t.regex(r.stdout, /^\/tmp\/m\/a=1000:2000$/m)
  t.regex(r.stdout, /^\/tmp\/m\/b=1001:2001$/m)
})

h.it('ridmap maps the submounts of an rbind too; idmap only its top mount', async (t) => {
  const src = source(t)
  const sub = join(src, 'sub')
  mkdirSync(sub)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'lxts-idmap-sub', sub])
  t.teardown(() => execFileSync('umount', [sub]))
  writeFileSync(join(sub, 'a'), 'a\n')
  writeFileSync(join(sub, 'b'), 'b\n')
  chownSync(join(sub, 'b'), 1, 1)
  const b = h.bundle(['sh', '-c', owners(['/tmp/r/sub', '/tmp/i', '/tmp/i/sub'])], (c) => {
    withUserns(c)
    c.mounts.push(
      { destination: '/tmp/r', type: 'bind', source: src, options: ['rbind', 'ridmap'] },
      { destination: '/tmp/i', type: 'bind', source: src, options: ['rbind', 'idmap'] },
    )
  })
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  t.regex(r.stdout, /^\/tmp\/r\/sub\/a=0:0$/m, describe(r))
  t.regex(r.stdout, /^\/tmp\/r\/sub\/b=1:1$/m)
  t.regex(r.stdout, /^\/tmp\/i\/a=0:0$/m, 'idmap: the top mount is mapped')
  t.regex(r.stdout, /^\/tmp\/i\/sub\/a=65534:65534$/m, 'idmap: a submount is not')
})

h.it('refused at create, naming the mount, nothing left: not a bind, half a mapping, idmap alone without a user namespace, a filesystem without idmap support', async (t) => {
  const src = source(t)
  const add = (m: TestConfig['mounts'][number]) => (c: TestConfig) => void c.mounts.push(m)
  const map: IdMap[] = [{ containerID: 0, hostID: 1000, size: 1 }]
  await h.refusedAtCreate(t, add({ destination: '/tmp/x', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }), /mounts\[\d+\].*must be a bind mount/)
  await h.refusedAtCreate(t, add({ destination: '/tmp/x', type: 'bind', source: src, options: ['bind'], uidMappings: map }), /mounts\[\d+\]\.gidMappings.*go together/)
  await h.refusedAtCreate(t, add({ destination: '/tmp/x', type: 'bind', source: src, options: ['bind', 'idmap'] }), /mounts\[\d+\]\.options.*new user namespace/)
  // procfs does not allow idmapped mounts: the helper's mount_setattr fails, after the config checks
  await h.refusedAtCreate(
    t,
    add({ destination: '/tmp/x', type: 'bind', source: '/proc/sys', options: ['rbind', 'idmap'], uidMappings: map, gidMappings: map }),
    /mount \/tmp\/x \(mounts\[\d+\], idmap\).*mount_setattr/,
  )
})

function kernelAtLeast(major: number, minor: number): boolean {
  const [a = 0, b = 0] = release().split('.').map((n) => Number.parseInt(n, 10))
  return a > major || (a === major && b >= minor)
}

/** `dir` bind-mounted onto itself and made shared, so mounts under a copy of it could propagate back. */
function sharedMount(t: ExecutionContext, dir: string): void {
  execFileSync('mount', ['--bind', dir, dir])
  execFileSync('mount', ['--make-shared', dir])
  t.teardown(() => execFileSync('umount', ['-R', dir]))
}

const hostMountsUnder = (dir: string): string[] =>
  readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((p) => p.startsWith(`${dir}/`))

h.it('the copy is private: a mount the config makes under an idmapped one never reaches a shared source on the host', async (t) => {
  const src = source(t)
  sharedMount(t, src)
  const b = h.bundle(['true'], (c) => {
    withUserns(c)
    c.mounts.push(
      { destination: '/tmp/own', type: 'bind', source: src, options: ['rbind', 'idmap'] },
      { destination: '/tmp/own/nested', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
    )
  })
  const r = await h.cli(['create', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  t.deepEqual(hostMountsUnder(src), [], 'nothing mounted under the source on the host while the container exists')
  const d = await h.cli(['delete', '--force', b.id])
  t.is(d.code, 0, describe(d))
})

h.it("the copy keeps the host's locks: a user-namespaced root with CAP_SYS_ADMIN cannot remount a read-only source writable or unmount a submount", async (t) => {
  const src = source(t)
  const sub = join(src, 'sub')
  mkdirSync(sub)
  writeFileSync(join(sub, 'hidden'), 'under the submount\n')
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,mode=0755', 'lxts-idmap-ro', sub])
  t.teardown(() => execFileSync('umount', [sub]))
  if (!kernelAtLeast(6, 3)) return t.pass('ridmap of a tmpfs needs Linux 6.3')
  const script = [
    'mount -o remount,bind,rw /tmp/own/sub && echo REMOUNTED',
    'umount /tmp/own/sub && echo UNMOUNTED',
    'cat /tmp/own/sub/hidden 2>/dev/null',
    'echo done',
  ].join('; ')
  const b = h.bundle(['sh', '-c', script], (c) => {
    withUserns(c)
    for (const set of ['bounding', 'effective', 'permitted'] as const) c.process.capabilities[set].push('CAP_SYS_ADMIN')
    c.mounts.push({ destination: '/tmp/own', type: 'bind', source: src, options: ['rbind', 'ridmap'] })
  })
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  t.regex(r.stdout, /^done$/m, describe(r))
  t.notRegex(r.stdout, /REMOUNTED|UNMOUNTED|under the submount/, describe(r))
})

h.it('a file source, rbind,ro with idmap, and a container without a mount namespace', async (t) => {
  const src = source(t)
  const map: IdMap[] = [{ containerID: 0, hostID: 1000, size: 2 }]
  const b = h.bundle(['sh', '-c', 'stat -c %u:%g /tmp/f; touch /tmp/ro/new 2>&1 || true'], (c) => {
    c.mounts.push({ destination: '/tmp/f', type: 'bind', source: join(src, 'b'), options: ['bind', 'idmap'], uidMappings: map, gidMappings: map })
    c.mounts.push({ destination: '/tmp/ro', type: 'bind', source: src, options: ['rbind', 'ro', 'idmap'], uidMappings: map, gidMappings: map })
  })
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  t.regex(r.stdout, /^1001:1001$/m, 'a single file, idmapped')
  t.regex(r.stdout, /Read-only file system/, 'rbind,ro,idmap stays read-only')
  const withoutMountNs = (c: TestConfig): void => {
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'mount')
    c.mounts.push({ destination: '/tmp/m', type: 'bind', source: src, options: ['bind', 'idmap'], uidMappings: map, gidMappings: map })
  }
  const noNs = h.bundle(['sh', '-c', 'stat -c %u:%g /tmp/m/a'], withoutMountNs)
  const n = await h.cli(['run', '--rm', '-b', noNs.dir, noNs.id])
  t.is(n.code, 0, describe(n))
  t.regex(n.stdout, /^1000:1000$/m)
  // Without a mount namespace the copy is made in the host's: only its own private setting
  // keeps a mount made under it (here the config's) from reaching a shared source.
  mkdirSync(join(src, 'nested'))
  sharedMount(t, src)
  const nested = h.bundle(['true'], (c) => {
    withoutMountNs(c)
    c.mounts.push({ destination: '/tmp/m/nested', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] })
  })
  const created = await h.cli(['create', '-b', nested.dir, nested.id])
  t.is(created.code, 0, describe(created))
  t.deepEqual(hostMountsUnder(src), [], 'nothing mounted under the shared source')
  t.is((await h.cli(['delete', '--force', nested.id])).code, 0)
  t.deepEqual(hostMountsUnder(noNs.rootfs), [], 'nothing left in the host mount namespace after delete')
})
