#!/usr/bin/env node
/**
 * Library throughput: containers started, run to completion (/bin/true) and deleted per
 * second from one Node process with `Runtime.run`, sequentially and with 2 in flight,
 * next to the same loop of `runc run` processes; and the latency of one container
 * (median) next to the kernel floor (`unshare … chroot ROOTFS /bin/true`).
 * Usage: bench/library.mjs [--quick] [--n 200]
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { BENCH_DIR, STATE_BASE, CGROUP_PARENT, benchConfig, ensureCgroupParent, ensureRootfs, makeBundle, removeCgroupParent } from './lib/setup.mjs'
import { REPO, exec, loadLibrary, median, options, save, since } from './lib/stats.mjs'

const opts = options({ n: 200, quick: false })
const n = opts.quick ? 10 : opts.n
const { Runtime } = await loadLibrary()
const rootfs = ensureRootfs()
const lxtsRoot = join(STATE_BASE, 'state-lib')
const runcRoot = join(STATE_BASE, 'state-lib-runc')
const runtime = new Runtime({ root: lxtsRoot })
const configs = [0, 1].map((slot) => benchConfig(['/bin/true'], `${CGROUP_PARENT}/lib-lxts-${slot}`))
const runcBundles = [0, 1].map((slot) => makeBundle(`lib-runc-${slot}`, ['/bin/true'], `${CGROUP_PARENT}/lib-runc-${slot}`))
const stdio = ['ignore', 'ignore', 'ignore']

/** Runs `count` containers on `inFlight` slots; returns per-container ms and the total. */
async function loop(count, inFlight, one) {
  const latencies = []
  let next = 0
  const start = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: inFlight }, async (_, slot) => {
      while (next < count) {
        const i = next++
        const t = process.hrtime.bigint()
        await one(i, slot)
        latencies.push(since(t))
      }
    }),
  )
  const total = since(start)
  return { count, inFlight, totalMs: total, perSecond: (count * 1000) / total, medianMs: median(latencies) }
}

const lxtsOne = async (i, slot) => {
  const exit = await runtime.run(`lib-${slot}-${i}`, { bundle: BENCH_DIR, config: configs[slot], stdio })
  if (exit.exitCode !== 0) throw new Error(`lxts container ${i} exited ${JSON.stringify(exit)}`)
}
const runcOne = (i, slot) => exec('runc', ['--root', runcRoot, 'run', '-b', runcBundles[slot], `lib-${slot}-${i}`])
const floorOne = () => exec('unshare', ['--pid', '--fork', '--mount', '--uts', '--ipc', '--net', 'chroot', rootfs, '/bin/true'])

const results = {}
ensureCgroupParent()
try {
  await loop(Math.min(3, n), 1, lxtsOne) // warm-up
  await loop(Math.min(3, n), 1, runcOne)
  results['lxts Runtime.run, sequential'] = await loop(n, 1, lxtsOne)
  results['runc run loop, sequential'] = await loop(n, 1, runcOne)
  results['lxts Runtime.run, 2 in flight'] = await loop(n, 2, lxtsOne)
  results['runc run loop, 2 in flight'] = await loop(n, 2, runcOne)
  results['kernel floor (unshare+chroot), sequential'] = await loop(n, 1, floorOne)
} finally {
  for (const root of [lxtsRoot, runcRoot]) rmSync(root, { recursive: true, force: true })
  removeCgroupParent()
}
for (const [name, r] of Object.entries(results)) {
  console.log(`${name.padEnd(44)} ${r.perSecond.toFixed(1).padStart(7)} /s   median ${r.medianMs.toFixed(1)} ms   (${r.count} in ${r.totalMs.toFixed(0)} ms)`)
}
console.log(`wrote ${save('library', { n, results })}`)
