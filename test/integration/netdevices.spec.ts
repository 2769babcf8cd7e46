/**
 * linux.netDevices (runtime-spec 1.3): a host network device (one end of a veth pair made here) is moved into
 * the container's network namespace, renamed, with its permanent addresses and up; it leaves
 * the host while the container exists and, being virtual (a veth end), is gone with the namespace. A name
 * taken in the container fails create naming the device, which then stays on the host.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import test, { type ExecutionContext } from 'ava'
import { describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)

const onHost = (dev: string): boolean => existsSync(`/sys/class/net/${dev}`)

/**
 * One end of a new veth pair on the host (its peer stays there), with an IPv4 (and, where the
 * host has IPv6, an IPv6) address. Removed afterwards if still there (either end takes both).
 */
function dummy(t: ExecutionContext): string {
  const base = `lxv${randomBytes(3).toString('hex')}`
  const [dev, peer] = [`${base}a`, `${base}b`]
  execFileSync('ip', ['link', 'add', dev, 'type', 'veth', 'peer', 'name', peer])
  t.teardown(() => {
    for (const d of [dev, peer]) {
      try {
        if (onHost(d)) execFileSync('ip', ['link', 'del', d], { stdio: 'ignore' })
      } catch {
        // gone meanwhile: the kernel ends a dead namespace's veth (and its peer) asynchronously
      }
    }
  })
  execFileSync('ip', ['addr', 'add', '10.213.7.1/24', 'dev', dev])
  if (existsSync('/proc/sys/net/ipv6')) execFileSync('ip', ['-6', 'addr', 'add', 'fd00:213::7/64', 'dev', dev, 'nodad'])
  return dev
}

h.it('a host device moves into the container renamed, with its addresses and up, and is gone with it', async (t) => {
  const dev = dummy(t)
  const b = h.bundle(['sh', '-c', 'ip -o addr show dev eth7; cat /sys/class/net/eth7/flags'], (c) => {
    c.linux['netDevices'] = { [dev]: { name: 'eth7' } }
  })
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  t.regex(r.stdout, /eth7\s+inet 10\.213\.7\.1\/24/, 'its IPv4 address')
  if (existsSync('/proc/sys/net/ipv6')) t.regex(r.stdout, /eth7\s+inet6 fd00:213::7\/64/, 'its IPv6 address')
  const flags = Number.parseInt(r.stdout.trim().split('\n').pop() ?? '0', 16)
  t.is(flags & 1, 1, 'IFF_UP')
  t.false(onHost(dev), 'a virtual device goes with the namespace')

  // while a container holds it, the device is not on the host
  const held = dummy(t)
  const c = h.bundle(['true'], (cfg) => (cfg.linux['netDevices'] = { [held]: {} }))
  const created = await h.cli(['create', '-b', c.dir, c.id])
  t.is(created.code, 0, describe(created))
  t.false(onHost(held), 'moved off the host')
  t.is((await h.cli(['delete', '--force', c.id])).code, 0)
  t.false(onHost(held))

  // a name ending in %d is a template the kernel completes
  const templ = dummy(t)
  const d = h.bundle(['ls', '/sys/class/net'], (cfg) => (cfg.linux['netDevices'] = { [templ]: { name: 'net%d' } }))
  const listed = await h.cli(['run', '--rm', '-b', d.dir, d.id])
  t.is(listed.code, 0, describe(listed))
  t.regex(listed.stdout, /^net0$/m)
})

h.it('a name taken in the container fails create naming the device, which stays on the host; an unknown device is refused', async (t) => {
  const dev = dummy(t)
  await h.refusedAtCreate(t, (c) => (c.linux['netDevices'] = { [dev]: { name: 'lo' } }), new RegExp(`linux\\.netDevices\\.${dev}: lo exists in the container`))
  t.true(onHost(dev), 'still on the host')
  await h.refusedAtCreate(t, (c) => (c.linux['netDevices'] = { lxtsnone0: {} }), /linux\.netDevices\.lxtsnone0: no such network device/)
  await h.refusedAtCreate(t, (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'network')
    c.linux['netDevices'] = { [dev]: {} }
  }, /linux\.netDevices.*new network namespace/)
})

h.it('all or none: when a later device fails, the ones moved before it come back to the host with their addresses', async (t) => {
  const [first, second] = [dummy(t), dummy(t)].sort() as [string, string]
  execFileSync('ip', ['link', 'set', first, 'up'])
  await h.refusedAtCreate(t, (c) => (c.linux['netDevices'] = { [first]: { name: 'eth5' }, [second]: { name: 'lo' } }), new RegExp(`linux\\.netDevices\\.${second}: lo exists`))
  t.true(onHost(first) && onHost(second), 'both on the host')
  const addr = execFileSync('ip', ['-o', 'addr', 'show', 'dev', first], { encoding: 'utf8' })
  t.regex(addr, /inet 10\.213\.7\.1\/24/, 'its address back')
  t.regex(execFileSync('ip', ['-o', 'link', 'show', 'dev', first], { encoding: 'utf8' }), /[<,]UP[,>]/, 'up again, as it was')

  // a create failing later (a bind of a missing source, in the init) sends the moved device back too
  await h.refusedAtCreate(t, (c) => {
    c.linux['netDevices'] = { [first]: { name: 'eth5' } }
    c.mounts.push({ destination: '/mnt', type: 'bind', source: '/nonexistent-lxts-source', options: ['bind'] })
  }, /nonexistent-lxts-source/)
  t.true(onHost(first), 'back on the host after the init failed')
  t.regex(execFileSync('ip', ['-o', 'addr', 'show', 'dev', first], { encoding: 'utf8' }), /inet 10\.213\.7\.1\/24/)
})
