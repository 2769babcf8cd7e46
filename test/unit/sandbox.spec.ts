import test from 'ava'

import { sandboxConfig } from '../../ts/config/sandbox.js'
import { validateConfig } from '../../ts/config/validate.js'

const c = sandboxConfig(['echo', 'hi'], { id: 'abcdef0123456789', root: '/run/lxts', hostDirs: ['/usr', '/bin', '/lib', '/etc'] })

test('valid as is', (t) => {
  t.deepEqual(validateConfig(c), [])
})

test('process: argv, env, cwd, root user, default caps, no terminal', (t) => {
  t.deepEqual(c.process?.args, ['echo', 'hi'])
  t.is(c.process?.cwd, '/')
  t.deepEqual(c.process?.user, { uid: 0, gid: 0 })
  t.false(c.process?.terminal)
  const env = c.process?.env ?? []
  t.true(env.some((e) => e.startsWith('PATH=')))
  t.true(env.some((e) => e.startsWith('TERM=')))
  t.true(env.includes('HOME=/root'))
  t.deepEqual(c.process?.capabilities?.bounding, ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'])
})

test('root is <root>/<id>/rootfs; hostname from the short id', (t) => {
  t.is(c.root?.path, '/run/lxts/abcdef0123456789/rootfs')
  t.is(c.hostname, 'lxts-abcdef012345')
})

test('namespaces pid, ipc, uts, mount, network', (t) => {
  t.deepEqual(c.linux?.namespaces?.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts'])
})

test('mounts: proc, /dev family, read-only host binds, tmpfs /tmp', (t) => {
  const m = new Map((c.mounts ?? []).map((x) => [x.destination, x]))
  t.is(m.get('/proc')?.type, 'proc')
  t.is(m.get('/dev')?.type, 'tmpfs')
  t.is(m.get('/dev/pts')?.type, 'devpts')
  t.is(m.get('/dev/shm')?.type, 'tmpfs')
  t.is(m.get('/dev/mqueue')?.type, 'mqueue')
  t.is(m.get('/tmp')?.type, 'tmpfs')
  for (const d of ['/usr', '/bin', '/lib', '/etc']) {
    const b = m.get(d)
    t.is(b?.source, d)
    t.true(b?.options?.includes('rbind') && b.options.includes('ro') && b.options.includes('nosuid'), d)
  }
  t.false(m.has('/sbin'), 'only the given host dirs')
  // /proc before anything under /dev, /dev before its children
  const order = (c.mounts ?? []).map((x) => x.destination)
  t.true(order.indexOf('/dev') < order.indexOf('/dev/pts'))
})

test('default host dirs are the existing ones', (t) => {
  const d = sandboxConfig(['true'], { id: 'x', root: '/r' })
  const dests = (d.mounts ?? []).filter((x) => x.type === 'bind').map((x) => x.destination)
  t.true(dests.includes('/usr') && dests.includes('/etc'))
  t.false(dests.includes('/nonexistent'))
})
