/**
 * Time namespaces (`{"type":"time"}`, `linux.timeOffsets`) and `linux.personality` on real
 * containers: the offsets seen inside (/proc/uptime is CLOCK_BOOTTIME; timens_offsets shows
 * both clocks), a namespace of its own, joined by path, entered by exec, inside a new user
 * namespace; and the refusals, which leave nothing behind.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { type Bundle, cgroupDirsOf, processesOf, type TestConfig } from '../helpers/bundle.js'
import { describe, type CliResult } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { Runtime } from '../../ts/index.js'
import { processInfo } from '../../ts/native.js'

const h = harness(test)

const BOOT = 1_000_000
const MONO = 2_000_000
const withOffsets = (c: TestConfig): void => {
  c.linux.namespaces.push({ type: 'time' })
  c.linux['timeOffsets'] = { boottime: { secs: BOOT }, monotonic: { secs: MONO, nanosecs: 5 } }
}
const hostUptime = (): number => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0])
/** `timens_offsets` lines, whitespace normalized. */
const offsetLines = (text: string): string[] => text.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '))

/** `run -d` a `sleep 1000` bundle; its id and init pid. */
async function detached(t: ExecutionContext, edit: (c: TestConfig) => void): Promise<{ id: string; pid: number; rootfs: string }> {
  const b = h.bundle(['sleep', '1000'], edit)
  const r = await h.cli(['run', '-d', '-b', b.dir, b.id], { timeout: 15_000 })
  t.is(r.code, 0, describe(r))
  const pid = (JSON.parse(readFileSync(join(h.root(), b.id, 'state.json'), 'utf8')) as { pid: number }).pid
  return { id: b.id, pid, rootfs: b.rootfs }
}

/** `run --rm` of a bundle printing /proc/uptime then timens_offsets, between two host uptime readings. */
async function runUptime(t: ExecutionContext, b: Bundle): Promise<{ before: number; after: number; inside: number; offsets: string[] }> {
  const before = hostUptime()
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id], { timeout: 15_000 })
  const after = hostUptime()
  t.is(r.code, 0, describe(r))
  const [uptime, ...offsets] = r.stdout.trim().split('\n')
  return { before, after, inside: Number(uptime?.split(' ')[0]), offsets }
}

async function done(t: ExecutionContext, id: string): Promise<void> {
  t.is((await h.cli(['delete', '--force', id])).code, 0)
}

h.it('timeOffsets: the container sees its boottime shifted and both offsets in timens_offsets', async (t) => {
  const b = h.bundle(['sh', '-c', 'cat /proc/uptime; cat /proc/self/timens_offsets'], withOffsets)
  const { before, after, inside, offsets } = await runUptime(t, b)
  t.true(inside >= before + BOOT && inside <= after + BOOT + 1, `uptime inside ${inside}, host ${before}..${after}`)
  t.deepEqual(offsetLines(offsets.join('\n')), [`monotonic ${MONO} 5`, `boottime ${BOOT} 0`])
  // the host's own clocks are untouched
  t.deepEqual(offsetLines(readFileSync('/proc/self/timens_offsets', 'utf8')), ['monotonic 0 0', 'boottime 0 0'])
})

h.it('a monotonic offset alone leaves boottime (/proc/uptime) as the host\'s', async (t) => {
  const b = h.bundle(['sh', '-c', 'cat /proc/uptime; cat /proc/self/timens_offsets'], (c) => {
    c.linux.namespaces.push({ type: 'time' })
    c.linux['timeOffsets'] = { monotonic: { secs: -1 } }
  })
  const { before, after, inside, offsets } = await runUptime(t, b)
  t.true(inside >= before && inside <= after + 1, `uptime inside ${inside}, host ${before}..${after}`)
  t.deepEqual(offsetLines(offsets.join('\n')), ['monotonic -1 0', 'boottime 0 0'])
})

h.it('the init has a time namespace of its own; exec lands in it; another container joins it by path', async (t) => {
  const a = await detached(t, withOffsets)
  const mine = readlinkSync('/proc/self/ns/time')
  const theirs = readlinkSync(`/proc/${a.pid}/ns/time`)
  t.not(theirs, mine, 'a new time namespace')
  t.is(readlinkSync(`/proc/${a.pid}/ns/time_for_children`), theirs, 'its children stay in it')

  const pidFile = join(h.root(), `${a.id}.exec.pid`)
  const d = await h.cli(['exec', '-d', '--pid-file', pidFile, a.id, '--', 'sleep', '1000'])
  t.is(d.code, 0, describe(d))
  const execPid = Number(readFileSync(pidFile, 'utf8'))
  execFileSync('rm', ['-f', pidFile])
  t.is(readlinkSync(`/proc/${execPid}/ns/time`), theirs, 'exec -d joins the time namespace')
  const before = hostUptime()
  const e = await h.cli(['exec', a.id, '--', 'sh', '-c', 'cat /proc/uptime; cat /proc/self/timens_offsets'])
  t.is(e.code, 0, describe(e))
  const [uptime, ...offsets] = e.stdout.trim().split('\n')
  t.true(Number(uptime?.split(' ')[0]) >= before + BOOT, `exec'd uptime ${uptime ?? ''}`)
  t.deepEqual(offsetLines(offsets.join('\n')), [`monotonic ${MONO} 5`, `boottime ${BOOT} 0`])

  // the helper entered the namespace for that exec: the start time it reports is still the host's
  const p = await (await new Runtime({ root: h.root() }).get(a.id)).exec({ args: ['sleep', '1'] }, { detach: true, stdio: ['ignore', 'ignore', 'inherit'] })
  t.is((await processInfo(p.pid))?.startTime, p.startTime, 'exec handle start time as the host sees it')
  await p.wait() // a detached handle polls the process by pid and start time
  const after = await processInfo(p.pid)
  t.true(after === null || after.state === 'Z', `wait returned once the process was gone: ${JSON.stringify(after)}`)

  // created by a helper that joined the namespace: its state's start time is the host's (run -d starts it)
  const b = await detached(t, (c) => c.linux.namespaces.push({ type: 'time', path: `/proc/${a.pid}/ns/time` }))
  const recorded = (JSON.parse(readFileSync(join(h.root(), b.id, 'state.json'), 'utf8')) as { startTime: number }).startTime
  t.is((await processInfo(b.pid))?.startTime, recorded, 'state.json start time as the host sees it')
  t.is(readlinkSync(`/proc/${b.pid}/ns/time`), theirs, 'joined by path')
  // a created init that joined by path holds no socket (the start-time reader's is closed too)
  const c = h.bundle(['true'], (cfg) => cfg.linux.namespaces.push({ type: 'time', path: `/proc/${a.pid}/ns/time` }))
  const cPidFile = join(h.root(), `${c.id}.pid`)
  const cr = await h.cli(['create', '--bundle', c.dir, '--pid-file', cPidFile, c.id])
  t.is(cr.code, 0, describe(cr))
  const cpid = Number(readFileSync(cPidFile, 'utf8'))
  execFileSync('rm', ['-f', cPidFile])
  const fds = readdirSync(`/proc/${cpid}/fd`).map((fd) => readlinkSync(`/proc/${cpid}/fd/${fd}`))
  t.deepEqual(fds.filter((l) => l.startsWith('socket:')), [], `created init's fds: ${fds.join(' ')}`)
  t.is(readlinkSync(`/proc/${cpid}/ns/time`), theirs)
  await done(t, c.id)
  const o = await h.cli(['exec', b.id, '--', 'cat', '/proc/self/timens_offsets'])
  t.deepEqual(offsetLines(o.stdout), [`monotonic ${MONO} 5`, `boottime ${BOOT} 0`], describe(o))
  await done(t, b.id)
  await done(t, a.id)
})

h.it('a time namespace with offsets inside a new user namespace', async (t) => {
  const c = await detached(t, (cfg) => {
    cfg.linux.namespaces.push({ type: 'user' })
    cfg.linux['uidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
    cfg.linux['gidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
    withOffsets(cfg)
  })
  t.not(readlinkSync(`/proc/${c.pid}/ns/time`), readlinkSync('/proc/self/ns/time'))
  const before = hostUptime()
  const r = await h.cli(['exec', c.id, '--', 'sh', '-c', 'cat /proc/self/uid_map; cat /proc/uptime; cat /proc/self/timens_offsets'])
  t.is(r.code, 0, describe(r))
  const [map, uptime, ...offsets] = r.stdout.trim().split('\n')
  t.is(map?.trim().split(/\s+/).join(' '), '0 100000 65536')
  t.true(Number(uptime?.split(' ')[0]) >= before + BOOT, `uptime ${uptime ?? ''}`)
  t.deepEqual(offsetLines(offsets.join('\n')), [`monotonic ${MONO} 5`, `boottime ${BOOT} 0`])
  await done(t, c.id)
})

h.it('a time namespace without offsets: zero offsets, still its own', async (t) => {
  const c = await detached(t, (cfg) => cfg.linux.namespaces.push({ type: 'time' }))
  t.not(readlinkSync(`/proc/${c.pid}/ns/time`), readlinkSync('/proc/self/ns/time'))
  t.deepEqual(offsetLines(readFileSync(`/proc/${c.pid}/timens_offsets`, 'utf8')), ['monotonic 0 0', 'boottime 0 0'])
  await done(t, c.id)
})

h.it('personality LINUX32: uname -m says i686 in the init and in exec\'d processes; LINUX is the host\'s', async (t) => {
  const c = await detached(t, (cfg) => (cfg.linux['personality'] = { domain: 'LINUX32' }))
  t.is(readFileSync(`/proc/${c.pid}/personality`, 'utf8').trim(), '00000008', 'the init runs with PER_LINUX32')
  const r = await h.cli(['exec', c.id, '--', 'uname', '-m'])
  t.is(r.code, 0, describe(r))
  t.is(r.stdout.trim(), 'i686')
  await done(t, c.id)
  const b = h.bundle(['uname', '-m'], (cfg) => (cfg.linux['personality'] = { domain: 'LINUX32', flags: [] }))
  const run = await h.cli(['run', '--rm', '-b', b.dir, b.id], { timeout: 15_000 })
  t.is(run.stdout.trim(), 'i686', describe(run))
  const l = h.bundle(['uname', '-m'], (cfg) => (cfg.linux['personality'] = { domain: 'LINUX' }))
  const host = execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim()
  const lr = await h.cli(['run', '--rm', '-b', l.dir, l.id], { timeout: 15_000 })
  t.is(lr.stdout.trim(), host, describe(lr))
})

/** create must fail naming the field and leave nothing. */
async function rejected(t: ExecutionContext, edit: (c: TestConfig) => void, message: RegExp): Promise<CliResult> {
  const b = h.bundle(['true'], edit)
  const r = await h.cli(['create', '--bundle', b.dir, b.id])
  t.not(r.code, 0, `create must fail: ${describe(r)}`)
  t.regex(r.stderr, message, describe(r))
  t.regex(r.stderr, /ERR_LXTS_INVALID_CONFIG/, describe(r))
  t.false(existsSync(join(h.root(), b.id)), 'no state dir may remain')
  t.deepEqual(cgroupDirsOf(b.id), [], 'no cgroup may remain')
  t.deepEqual(processesOf(b.id), [], 'no process may remain')
  return r
}

const refusals: [string, (c: TestConfig) => void, RegExp][] = [
  ['timeOffsets without a time namespace', (c) => (c.linux['timeOffsets'] = { boottime: { secs: 5 } }), /linux\.timeOffsets.*time namespace/],
  ['timeOffsets for a joined time namespace', (c) => {
    c.linux.namespaces.push({ type: 'time', path: '/proc/self/ns/time' })
    c.linux['timeOffsets'] = { boottime: { secs: 5 } }
  }, /linux\.timeOffsets.*joined/],
  ['an unknown clock', (c) => {
    c.linux.namespaces.push({ type: 'time' })
    c.linux['timeOffsets'] = { realtime: { secs: 5 } }
  }, /linux\.timeOffsets\.realtime/],
  ['nanosecs of a second or more', (c) => {
    c.linux.namespaces.push({ type: 'time' })
    c.linux['timeOffsets'] = { monotonic: { secs: 1, nanosecs: 1_000_000_000 } }
  }, /linux\.timeOffsets\.monotonic\.nanosecs/],
  // valid JSON the kernel refuses (the clock would go negative): the helper's error, after cgroups exist
  ['a boottime offset before the boot', (c) => {
    c.linux.namespaces.push({ type: 'time' })
    c.linux['timeOffsets'] = { boottime: { secs: -1_000_000_000_000 } }
  }, /linux\.timeOffsets.*timens_offsets/],
  ['an unknown personality domain', (c) => (c.linux['personality'] = { domain: 'BSD' }), /linux\.personality\.domain/],
  ['a personality flag', (c) => (c.linux['personality'] = { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] }), /linux\.personality\.flags\[0\]/],
]

for (const [name, edit, message] of refusals) {
  h.it(`create refuses ${name}`, async (t) => {
    await rejected(t, edit, message)
  })
}
