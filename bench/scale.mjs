#!/usr/bin/env node
/**
 * Scale: N containers running `sleep` at once (engine mode: create + start, no monitor,
 * as `runc create`/`runc start`), for lxts (library) and then runc (CLI):
 *   time to start all N, `list` with N containers (CLI, median of a few runs), delete all,
 *   and create+start latency of the first 10 vs the last 10 (does the Nth cost more?).
 * Usage: bench/scale.mjs [--quick] [--n 500] [--runc 1|0]
 */
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { BENCH_DIR, STATE_BASE, CGROUP_PARENT, benchConfig, ensureCgroupParent, makeBundle, removeCgroupParent } from './lib/setup.mjs'
import { LXTS_CLI, exec, loadLibrary, median, options, save, since } from './lib/stats.mjs'

const opts = options({ n: 500, runc: 1, quick: false })
const n = opts.quick ? 20 : opts.n
const listRuns = opts.quick ? 2 : 5
const { Runtime } = await loadLibrary()
const lxtsRoot = join(STATE_BASE, 'state-scale')
const runcRoot = join(STATE_BASE, 'state-scale-runc')
const runtime = new Runtime({ root: lxtsRoot })
const stdio = ['ignore', 'ignore', 'ignore']
const SLEEP = ['/bin/sleep', '100000']

/** Median wall time of running a command `runs` times (after one warm-up), and its output size. */
function timeCommand(cmd, args, runs) {
  let lines = 0
  execFileSync(cmd, args, { stdio: 'ignore' })
  const times = []
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint()
    const out = execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    times.push(since(t))
    lines = out.split('\n').filter(Boolean).length
  }
  return { medianMs: median(times), lines }
}

/** Starts n containers with `one(i)`, lists, deletes all with `remove(i)`. */
async function scenario(name, one, list, remove) {
  const latencies = []
  const started = []
  const t0 = process.hrtime.bigint()
  try {
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint()
      await one(i)
      started.push(i)
      latencies.push(since(t))
    }
    const startAllMs = since(t0)
    const listed = list()
    if (listed.lines < n) throw new Error(`${name}: list showed ${listed.lines} lines for ${n} containers`)
    const t1 = process.hrtime.bigint()
    for (const i of started.splice(0)) await remove(i)
    const deleteAllMs = since(t1)
    return {
      n,
      startAllMs,
      perContainerMs: startAllMs / n,
      listMs: listed.medianMs,
      deleteAllMs,
      first10MedianMs: median(latencies.slice(0, 10)),
      last10MedianMs: median(latencies.slice(-10)),
      // Where a step in cost shows: the median of each tenth of the run.
      perTenthMedianMs: Array.from({ length: 10 }, (_, k) => median(latencies.slice((k * n) / 10, ((k + 1) * n) / 10))),
    }
  } finally {
    for (const i of started) await remove(i).catch(() => {})
  }
}

const results = {}
ensureCgroupParent()
try {
  results.lxts = await scenario(
    'lxts',
    async (i) => {
      const c = await runtime.create(`scale-${i}`, { bundle: BENCH_DIR, config: benchConfig(SLEEP, `${CGROUP_PARENT}/scale-lxts-${i}`), monitor: false, stdio })
      await c.start()
    },
    () => timeCommand(LXTS_CLI[0], [...LXTS_CLI.slice(1), '--root', lxtsRoot, 'list'], listRuns),
    async (i) => (await runtime.get(`scale-${i}`)).delete({ force: true }),
  )
  if (opts.runc) {
    const bundles = Array.from({ length: n }, (_, i) => makeBundle(`scale-runc-${i}`, SLEEP, `${CGROUP_PARENT}/scale-runc-${i}`))
    results.runc = await scenario(
      'runc',
      async (i) => {
        await exec('runc', ['--root', runcRoot, 'create', '-b', bundles[i], `scale-${i}`])
        await exec('runc', ['--root', runcRoot, 'start', `scale-${i}`])
      },
      () => timeCommand('runc', ['--root', runcRoot, 'list'], listRuns),
      (i) => exec('runc', ['--root', runcRoot, 'delete', '-f', `scale-${i}`]),
    )
  }
} finally {
  for (const root of [lxtsRoot, runcRoot]) rmSync(root, { recursive: true, force: true })
  rmSync(join(BENCH_DIR, 'bundles'), { recursive: true, force: true })
  removeCgroupParent()
}
const f1 = (m) => (m === null || m === undefined ? '-' : m.toFixed(1))
for (const [name, r] of Object.entries(results)) {
  console.log(
    `${name}: ${r.n} started in ${r.startAllMs.toFixed(0)} ms (${r.perContainerMs.toFixed(1)} ms each), list ${r.listMs.toFixed(1)} ms, ` +
      `deleted in ${r.deleteAllMs.toFixed(0)} ms; create+start first 10 ${f1(r.first10MedianMs)} ms, last 10 ${f1(r.last10MedianMs)} ms; ` +
      `by tenths ${r.perTenthMedianMs.map(f1).join(' ')} ms`,
  )
}
console.log(`wrote ${save('scale', { n, results })}`)
