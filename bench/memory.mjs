#!/usr/bin/env node
/**
 * Memory:
 *  1. host-side resident memory lxts keeps per running container: the monitor helper's
 *     VmRSS and Pss (/proc/<pid>/status, /proc/<pid>/smaps_rollup) for containers started by
 *     the library (monitor mode; engine-mode `create` keeps no process: 0), next to the
 *     `runc run` process a foreground runc keeps (a detached runc keeps none). For the CLI,
 *     `lxts run -d` and `lxts create` from the shell: the monitor's VmRSS and the growth of the
 *     host's Shmem (/proc/meminfo) each container keeps (a helper image copied into a memfd
 *     would show here; state files on a tmpfs count too), median of k.
 *  2. the smallest `linux.resources.memory.limit` under which /bin/true runs, bisected
 *     between 16 MiB and 256 KiB (64 KiB steps) for both runtimes. If lxts does not write
 *     the limit into the memory cgroup yet, its row is "pending".
 * Usage: bench/memory.mjs [--quick] [--k 5]
 */
import { spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { BENCH_DIR, STATE_BASE, CGROUP_PARENT, benchConfig, ensureCgroupParent, makeBundle, removeCgroupParent } from './lib/setup.mjs'
import { LXTS_CLI, exec, loadLibrary, median, options, save } from './lib/stats.mjs'

const opts = options({ k: 5, quick: false })
const k = opts.quick ? 2 : opts.k
const { Runtime } = await loadLibrary()
const lxtsRoot = join(STATE_BASE, 'state-mem')
const runcRoot = join(STATE_BASE, 'state-mem-runc')
const runtime = new Runtime({ root: lxtsRoot })
const stdio = ['ignore', 'ignore', 'ignore']
const KiB = 1024
const MiB = 1024 * KiB
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** VmRSS and Pss of a pid, in KiB. */
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
  const kb = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN)
  return { rssKiB: kb(status, 'VmRSS'), pssKiB: kb(rollup, 'Pss') }
}

async function monitorMemory() {
  const samples = []
  const ids = []
  try {
    for (let i = 0; i < k; i++) {
      const id = `mem-mon-${i}`
      const container = await runtime.create(id, { bundle: BENCH_DIR, config: benchConfig(['/bin/sleep', '1000'], `${CGROUP_PARENT}/mem-mon-${i}`), stdio })
      ids.push(id)
      await container.start()
      await sleep(100) // settled, as the runc process is measured below
      const state = JSON.parse(readFileSync(join(runtime.stateDir(id), 'state.json'), 'utf8'))
      samples.push(memoryOf(state.monitorPid))
    }
  } finally {
    for (const id of ids) await (await runtime.get(id)).delete({ force: true })
  }
  return { rssKiB: median(samples.map((s) => s.rssKiB)), pssKiB: median(samples.map((s) => s.pssKiB)), samples }
}

/** Host Shmem in KiB (/proc/meminfo). */
const shmemKiB = () => Number(/^Shmem:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? NaN)

/** `lxts run -d` (monitor) or `lxts create` from the shell, k times: what each keeps on the host. */
async function cliMemory(verb) {
  const cliRoot = join(STATE_BASE, 'state-mem-cli')
  const lxts = (...args) => exec(LXTS_CLI[0], [...LXTS_CLI.slice(1), '--root', cliRoot, ...args])
  const bundle = makeBundle('mem-cli-sleep', ['/bin/sleep', '1000'], `${CGROUP_PARENT}/mem-cli`)
  const samples = []
  const ids = []
  try {
    for (let i = 0; i < k; i++) {
      const id = `mem-cli-${verb}-${i}`
      const before = shmemKiB()
      ids.push(id)
      await lxts(...(verb === 'run' ? ['run', '-d'] : ['create']), '-b', bundle, id)
      await sleep(100)
      const state = JSON.parse(readFileSync(join(cliRoot, id, 'state.json'), 'utf8'))
      samples.push({ shmemKiB: shmemKiB() - before, ...(state.monitorPid ? memoryOf(state.monitorPid) : {}) })
      await lxts('delete', '--force', id)
      ids.pop()
    }
  } finally {
    for (const id of ids) await lxts('delete', '--force', id).catch(() => {})
    rmSync(cliRoot, { recursive: true, force: true })
  }
  const pick = (key) => (samples[0][key] === undefined ? undefined : median(samples.map((s) => s[key])))
  return { shmemKiB: pick('shmemKiB'), rssKiB: pick('rssKiB'), pssKiB: pick('pssKiB'), samples }
}

async function runcForegroundMemory() {
  const bundle = makeBundle('mem-runc-sleep', ['/bin/sleep', '1000'], `${CGROUP_PARENT}/mem-runc`)
  const child = spawn('runc', ['--root', runcRoot, 'run', '-b', bundle, 'mem-runc'], { stdio: 'ignore' })
  try {
    // wait until the container runs (runc state says running), then measure the runc process
    for (let i = 0; i < 100; i++) {
      await sleep(50)
      const ok = await exec('runc', ['--root', runcRoot, 'state', 'mem-runc']).then(() => true, () => false)
      if (ok) break
    }
    await sleep(100)
    return memoryOf(child.pid)
  } finally {
    await exec('runc', ['--root', runcRoot, 'kill', 'mem-runc', 'KILL']).catch(() => {})
    await new Promise((r) => child.once('close', r))
    await exec('runc', ['--root', runcRoot, 'delete', '-f', 'mem-runc']).catch(() => {})
  }
}

/** Does /bin/true run under this limit? Also whether lxts really wrote it into the cgroup. */
async function lxtsRunsUnder(limit) {
  const id = `mem-limit-${limit}`
  const cgroup = `${CGROUP_PARENT}/mem-limit-lxts`
  let container
  try {
    container = await runtime.create(id, { bundle: BENCH_DIR, config: benchConfig(['/bin/true'], cgroup, limit), stdio })
  } catch (error) {
    // A build that refuses linux.resources (ERR_LXTS_UNSUPPORTED) does not honour it yet.
    return { ok: false, honoured: error.code !== 'ERR_LXTS_UNSUPPORTED', error: String(error.message ?? error) }
  }
  try {
    const written = Number(readFileSync(`/sys/fs/cgroup/memory${cgroup}/memory.limit_in_bytes`, 'utf8'))
    const honoured = Math.abs(written - limit) < 4096
    await container.start()
    const exit = await container.wait()
    return { ok: exit.exitCode === 0 && exit.signal === null, honoured, exit }
  } catch (error) {
    return { ok: false, honoured: true, error: String(error.message ?? error) }
  } finally {
    await container.delete({ force: true }).catch(() => {})
  }
}

async function runcRunsUnder(limit) {
  const bundle = makeBundle('mem-limit-runc', ['/bin/true'], `${CGROUP_PARENT}/mem-limit-runc`, limit)
  const ok = await exec('runc', ['--root', runcRoot, 'run', '-b', bundle, 'mem-limit']).then(() => true, () => false)
  await exec('runc', ['--root', runcRoot, 'delete', '-f', 'mem-limit']).catch(() => {})
  return { ok, honoured: true }
}

/** The smallest limit (64 KiB steps) in [256 KiB, 16 MiB] under which `runsUnder` succeeds. */
async function bisect(runsUnder) {
  const step = 64 * KiB
  let hi = 16 * MiB
  const top = await runsUnder(hi)
  if (!top.honoured) return { status: 'pending', note: 'linux.resources.memory.limit is refused or not written to the memory cgroup yet', detail: top }
  if (!top.ok) return { status: 'fails at 16 MiB', detail: top }
  let lo = 256 * KiB
  if ((await runsUnder(lo)).ok) return { status: 'ok', smallestBytes: lo }
  // invariant: lo fails, hi works
  while (hi - lo > step) {
    const mid = Math.floor((lo + hi) / 2 / step) * step
    if ((await runsUnder(mid)).ok) hi = mid
    else lo = mid
  }
  return { status: 'ok', smallestBytes: hi, largestFailingBytes: lo }
}

const results = {}
ensureCgroupParent()
try {
  results.monitor = await monitorMemory()
  results.runcForeground = await runcForegroundMemory()
  results.cliRunDetached = await cliMemory('run')
  results.cliCreate = await cliMemory('create')
  results.engineCreate = { rssKiB: 0, pssKiB: 0, note: 'create without a monitor keeps no lxts process (as runc create)' }
  results.limitLxts = await bisect(lxtsRunsUnder)
  results.limitRunc = await bisect(runcRunsUnder)
} finally {
  for (const root of [lxtsRoot, runcRoot]) rmSync(root, { recursive: true, force: true })
  removeCgroupParent()
}
const fmt = (r) => (r.status === 'ok' ? `${(r.smallestBytes / KiB).toFixed(0)} KiB` : r.status)
console.log(`lxts monitor helper per running container: VmRSS ${results.monitor.rssKiB} KiB, Pss ${results.monitor.pssKiB} KiB (median of ${k})`)
console.log(`runc foreground run process:               VmRSS ${results.runcForeground.rssKiB} KiB, Pss ${results.runcForeground.pssKiB} KiB`)
const signed = (n) => `${n >= 0 ? '+' : ''}${n}`
console.log(`lxts run -d from the shell:                 monitor VmRSS ${results.cliRunDetached.rssKiB} KiB; host Shmem ${signed(results.cliRunDetached.shmemKiB)} KiB a container`)
console.log(`lxts create from the shell (not started):  host Shmem ${signed(results.cliCreate.shmemKiB)} KiB a container`)
console.log(`smallest memory limit running /bin/true:   lxts ${fmt(results.limitLxts)}, runc ${fmt(results.limitRunc)}`)
console.log(`wrote ${save('memory', { k, results })}`)
