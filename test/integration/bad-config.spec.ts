/**
 * `create` rejects bad configs with the field named and leaves NOTHING behind: no state dir,
 * no pid file, no cgroup, no process. Also: the JSON log of a failing create.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { type Bundle, cgroupDirsOf, processesOf, type TestConfig } from '../helpers/bundle.js'
import { describe, type CliResult } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)

/** create must fail, match `message`, and leave nothing. */
async function rejected(t: ExecutionContext, b: Bundle, message: RegExp, extra: string[] = []): Promise<CliResult> {
  const pidFile = join(b.dir, 'pid')
  const r = await h.cli([...extra, 'create', '--bundle', b.dir, '--pid-file', pidFile, b.id])
  t.not(r.code, 0, `create must fail: ${describe(r)}`)
  t.regex(r.stderr, message, describe(r))
  t.false(existsSync(join(h.root(), b.id)), `no state dir may remain: ${join(h.root(), b.id)}`)
  t.false(existsSync(pidFile), 'no pid file may be written')
  t.deepEqual(cgroupDirsOf(b.id), [], 'no cgroup may remain')
  t.deepEqual(processesOf(b.id), [], 'no process may remain')
  return r
}

const cases: [string, (c: TestConfig) => void, RegExp][] = [
  ['missing process.args', (c) => delete (c.process as Partial<TestConfig['process']>).args, /process\.args/],
  ['empty process.args', (c) => (c.process.args = []), /process\.args/],
  ['relative process.cwd', (c) => (c.process.cwd = 'tmp'), /process\.cwd/],
  ['unknown namespace type', (c) => c.linux.namespaces.push({ type: 'bogus' }), /namespaces/],
  ['unknown capability', (c) => c.process.capabilities.bounding.push('CAP_NOT_A_THING'), /CAP_NOT_A_THING|capabilit/],
  ['missing root.path', (c) => delete (c.root as Partial<TestConfig['root']>).path, /root\.path|root/],
  ['non-existent rootfs', (c) => (c.root.path = 'no-such-rootfs'), /no-such-rootfs|root\.path/],
  ['ociVersion 2.0.0', (c) => (c.ociVersion = '2.0.0'), /ociVersion/],
  ['missing ociVersion', (c) => delete (c as Partial<TestConfig>).ociVersion, /ociVersion/],
  ['relative mount destination', (c) => c.mounts.push({ destination: 'mnt', type: 'tmpfs', source: 'tmpfs' }), /mounts\[\d+\]\.destination|destination/],
  ['duplicate namespace', (c) => c.linux.namespaces.push({ type: 'pid' }), /namespaces|pid/],
  ['hostname without a uts namespace', (c) => (c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'uts')), /hostname|uts/i],
  ['terminal without --console-socket', (c) => (c.process.terminal = true), /terminal|console/i],
  ['a namespace path that does not exist', (c) => c.linux.namespaces.splice(1, 1, { type: 'network', path: '/proc/999999999/ns/net' }), /999999999|namespaces/],
  // failures inside the container setup (after clone): still nothing may be left
  ['a mount of an unknown filesystem type', (c) => c.mounts.push({ destination: '/m', type: 'lxtsbogusfs', source: 'x' }), /\/m|lxtsbogusfs|mount/],
  ['a bind mount whose source does not exist', (c) => c.mounts.push({ destination: '/m', type: 'bind', source: '/nonexistent-lxts-src', options: ['rbind'] }), /nonexistent-lxts-src|\/m/],
  ['a uid without a user mapping in a user namespace', (c) => {
    c.linux.namespaces.push({ type: 'user' })
    c.linux['uidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
    c.linux['gidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
    c.process.user = { uid: 70000, gid: 70000 }
  }, /70000|uid|process\.user|map/i],
  ['an unknown rlimit', (c) => c.process.rlimits?.push({ type: 'RLIMIT_BOGUS', hard: 1, soft: 1 }), /RLIMIT_BOGUS|rlimits/],
]

for (const [name, edit, message] of cases) {
  h.it(`create rejects ${name}`, async (t) => {
    const b = h.bundle(['true'], edit)
    await rejected(t, b, message)
  })
}

h.it('create rejects malformed JSON naming config.json', async (t) => {
  const b = h.bundle(['true'])
  b.write('{"ociVersion": "1.0.2", "process": {')
  await rejected(t, b, /config\.json|JSON/i)
})

h.it('create rejects a bundle without config.json', async (t) => {
  const b = h.bundle(['true'])
  b.write('')
  await rejected(t, b, /config\.json|JSON/i)
})

h.it('create rejects an invalid container id', async (t) => {
  const b = h.bundle(['true'])
  const r = await h.cli(['create', '--bundle', b.dir, '../escape'])
  t.not(r.code, 0, describe(r))
  t.regex(r.stderr, /ERR_LXTS_INVALID_ID|id/i, describe(r))
  t.false(existsSync(join(h.root(), '..', 'escape')), 'the id never becomes a path outside --root')
})

h.it('a missing executable fails at create with an exec-not-found error', async (t) => {
  const b = h.bundle(['/bin/no-such-binary'])
  const r = await rejected(t, b, /ERR_LXTS_EXEC_NOT_FOUND|not found|no such file/i)
  t.regex(r.stderr, /no-such-binary/, 'names the executable')
})

h.it('an executable missing from PATH fails at create', async (t) => {
  const b = h.bundle(['no-such-command-anywhere'])
  await rejected(t, b, /ERR_LXTS_EXEC_NOT_FOUND|not found|no such file/i)
})

h.it('--log FILE --log-format json: a failing create ends with an error line', async (t) => {
  const b = h.bundle(['true'], (c) => (c.process.cwd = 'relative'))
  const log = join(b.dir, 'log.json')
  await rejected(t, b, /process\.cwd/, ['--log', log, '--log-format', 'json'])
  t.true(existsSync(log), 'the log file is written')
  const lines = readFileSync(log, 'utf8').trim().split('\n')
  const last = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>
  t.is(last['level'], 'error', `last log line: ${lines.at(-1)}`)
  t.regex(String(last['msg']), /process\.cwd/, 'msg names the field')
  t.truthy(last['time'], 'runc-style lines carry a time')
})
