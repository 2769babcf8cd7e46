/**
 * process.scheduler (sched_setattr), process.ioPriority (ioprio_set), linux.memoryPolicy
 * (set_mempolicy) and process.oomScoreAdj, as the host sees the container's processes: the init (read while it waits in
 * `created`, its settings already made) and an exec'd process; a value the kernel refuses fails
 * create naming the field and the syscall, with nothing left.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import type { TestConfig } from '../helpers/bundle.js'
import { describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)

/** Nice (field 19) and scheduling policy (field 41) from /proc/<pid>/stat. */
function niceAndPolicy(pid: number | string): [string, string] {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return [fields[16] ?? '', fields[38] ?? '']
}

function withAll(c: TestConfig): void {
  c.process['scheduler'] = { policy: 'SCHED_BATCH', nice: 5 }
  c.process['ioPriority'] = { class: 'IOPRIO_CLASS_BE', priority: 6 }
  c.linux['memoryPolicy'] = { mode: 'MPOL_BIND', nodes: '0' }
}

async function initPid(t: ExecutionContext, id: string): Promise<number> {
  const r = await h.cli(['state', id])
  t.is(r.code, 0, describe(r))
  return (JSON.parse(r.stdout) as { pid: number }).pid
}

h.it('the init has the scheduler, I/O priority and memory policy of the config, and an exec’d process too', async (t) => {
  const b = h.bundle(['sleep', '30'], withAll)
  const c = await h.cli(['create', '-b', b.dir, b.id])
  t.is(c.code, 0, describe(c))
  const pid = await initPid(t, b.id)
  t.deepEqual(niceAndPolicy(pid), ['5', '3'], 'nice 5, SCHED_BATCH (3)')
  t.regex(execFileSync('ionice', ['-p', String(pid)], { encoding: 'utf8' }), /best-effort: prio 6/)
  t.regex(readFileSync(`/proc/${pid}/numa_maps`, 'utf8').split('\n')[0] ?? '', / bind:0 /, 'MPOL_BIND on node 0')
  t.is((await h.cli(['start', b.id])).code, 0)
  // An exec'd process: its own process.scheduler and ioPriority, the container's memory policy.
  const proc = join(b.dir, 'exec.json')
  writeFileSync(
    proc,
    JSON.stringify({
      args: ['sh', '-c', 'cut -d" " -f19,41 /proc/self/stat; head -1 /proc/self/numa_maps'],
      cwd: '/',
      user: { uid: 0, gid: 0 },
      scheduler: { policy: 'SCHED_IDLE' },
      ioPriority: { class: 'IOPRIO_CLASS_IDLE', priority: 0 },
    }),
  )
  const e = await h.cli(['exec', '--process', proc, b.id])
  t.is(e.code, 0, describe(e))
  t.regex(e.stdout, /^0 5$/m, 'SCHED_IDLE (5)')
  t.regex(e.stdout, / bind:0 /, "the container's memory policy")
  // its I/O class, seen from the host on a detached one
  writeFileSync(proc, JSON.stringify({ args: ['sleep', '30'], cwd: '/', user: { uid: 0, gid: 0 }, ioPriority: { class: 'IOPRIO_CLASS_IDLE', priority: 0 } }))
  t.is((await h.cli(['exec', '-d', '--process', proc, b.id])).code, 0)
  const pids = JSON.parse((await h.cli(['ps', '--format', 'json', b.id])).stdout) as number[]
  const sleeper = pids.find((p) => p !== pid)
  t.regex(execFileSync('ionice', ['-p', String(sleeper)], { encoding: 'utf8' }), /idle/)
  t.is((await h.cli(['delete', '--force', b.id])).code, 0)
})

h.it('refused at create naming the field, nothing left: an unknown policy, a priority out of range, nodes the kernel refuses', async (t) => {
  await h.refusedAtCreate(t, (c) => (c.process['scheduler'] = { policy: 'SCHED_FAST' }), /process\.scheduler\.policy/)
  await h.refusedAtCreate(t, (c) => (c.process['ioPriority'] = { class: 'IOPRIO_CLASS_BE', priority: 9 }), /process\.ioPriority\.priority/)
  await h.refusedAtCreate(t, (c) => (c.linux['memoryPolicy'] = { mode: 'MPOL_BIND', nodes: 'zero' }), /linux\.memoryPolicy\.nodes/)
  // valid names, but MPOL_DEFAULT takes no nodes: the kernel says EINVAL in the init
  await h.refusedAtCreate(t, (c) => (c.linux['memoryPolicy'] = { mode: 'MPOL_DEFAULT', nodes: '0' }), /linux\.memoryPolicy.*set_mempolicy.*Invalid argument/)
  await h.refusedAtCreate(t, (c) => (c.linux['netDevices'] = { eth1: {} }), /linux\.netDevices/)
})

h.it('oomScoreAdj reaches a process in a new user namespace (the helper passes it on at clone; the init could not write it)', async (t) => {
  const b = h.bundle(['cat', '/proc/self/oom_score_adj'], (c) => {
    c.linux.namespaces.push({ type: 'user' })
    c.linux['uidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
    c.linux['gidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
    c.process['oomScoreAdj'] = 123
  })
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
  t.is(r.code, 0, describe(r))
  t.is(r.stdout.trim(), '123')
})

h.it('exec with process.execCPUAffinity: the process ends up on the final CPUs; a bad list is refused naming the field', async (t) => {
  const b = h.bundle(['sleep', '30'])
  t.is((await h.cli(['run', '-d', '-b', b.dir, b.id])).code, 0)
  const proc = join(b.dir, 'exec.json')
  const run = (affinity: unknown) => {
    writeFileSync(proc, JSON.stringify({ args: ['grep', 'Cpus_allowed_list', '/proc/self/status'], cwd: '/', user: { uid: 0, gid: 0 }, execCPUAffinity: affinity }))
    return h.cli(['exec', '--process', proc, b.id])
  }
  const last = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim().split(/[-,]/).pop() ?? '0'
  const r = await run({ initial: '0', final: last })
  t.is(r.code, 0, describe(r))
  t.regex(r.stdout, new RegExp(`^Cpus_allowed_list:\\s+${last}$`, 'm'))
  const bad = await run({ final: 'one' })
  t.not(bad.code, 0)
  t.regex(bad.stderr, /process\.execCPUAffinity\.final/, describe(bad))
  t.is((await h.cli(['delete', '--force', b.id])).code, 0)
})
