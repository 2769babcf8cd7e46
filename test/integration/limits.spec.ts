/**
 * Contained workloads: a fork bomb under a pids limit, a memory hog under a memory limit and a
 * disk filler in a size-limited tmpfs are each stopped inside their container, while the host
 * stays responsive: this process's timers keep firing on time and a host `true` runs in < 1 s.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { CGROUP_PARENT, cgroupMounts } from '../helpers/bundle.js'
import { describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)
const MiB = 1024 * 1024

/** Samples host responsiveness until stopped: worst timer lag and worst `true` latency (ms). */
function watchHost(): { stop: () => Promise<{ timerLag: number; trueMs: number; samples: number }> } {
  let timerLag = 0
  let trueMs = 0
  let samples = 0
  let last = Date.now()
  const timer = setInterval(() => {
    const now = Date.now()
    timerLag = Math.max(timerLag, now - last - 100)
    last = now
  }, 100)
  let running = true
  const prober = (async () => {
    while (running) {
      const t0 = Date.now()
      await new Promise<void>((r) => execFile('true', () => r()))
      trueMs = Math.max(trueMs, Date.now() - t0)
      samples++
      await new Promise((r) => setTimeout(r, 200))
    }
  })()
  return {
    async stop() {
      running = false
      clearInterval(timer)
      await prober
      return { timerLag, trueMs, samples }
    },
  }
}

function assertResponsive(t: ExecutionContext, s: { timerLag: number; trueMs: number; samples: number }): void {
  t.log(`host: worst timer lag ${s.timerLag} ms, worst \`true\` ${s.trueMs} ms over ${s.samples} samples`)
  t.true(s.samples >= 1, 'the host was probed during the attack')
  t.true(s.trueMs < 1000, `a host \`true\` took ${s.trueMs} ms`)
  t.true(s.timerLag < 1000, `this process's timers lagged ${s.timerLag} ms`)
}

h.it('a fork bomb under pids.max=64 stays inside its container; the host stays responsive', async (t) => {
  const b = h.bundle(['sh', '-c', 'b() { b & b; }; b'], (c) => {
    c.linux['resources'] = { pids: { limit: 64 } }
  })
  const w = watchHost()
  t.is((await h.cli(['run', '-d', '-b', b.dir, b.id])).code, 0)
  const pids = cgroupMounts().find((m) => m.path.endsWith('/pids'))
  let peak = 0
  for (let i = 0; i < 15; i++) {
    await new Promise((r) => setTimeout(r, 200))
    if (pids !== undefined) peak = Math.max(peak, Number(readFileSync(join(pids.path, CGROUP_PARENT, b.id, 'pids.current'), 'utf8')))
  }
  const logs = (await h.cli(['logs', b.id])).stdout
  t.regex(logs, /can't fork/, 'forks were refused inside the container')
  const events = pids === undefined ? '' : readFileSync(join(pids.path, CGROUP_PARENT, b.id, 'pids.events'), 'utf8')
  const d = await h.cli(['delete', '--force', b.id], { timeout: 30_000 })
  t.is(d.code, 0, describe(d))
  assertResponsive(t, await w.stop())
  if (pids !== undefined) {
    t.regex(events, /^max [1-9]\d*$/m, `the pids limit refused forks: ${events}`)
    t.true(peak <= 64, `never more than the limit: ${peak}`)
  }
})

h.it('a memory hog under a 64 MiB limit is OOM-killed inside; the host stays responsive', async (t) => {
  const b = h.bundle(['sh', '-c', 'x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done'], (c) => {
    c.linux['resources'] = { memory: { limit: 64 * MiB, swap: 64 * MiB } }
  })
  const w = watchHost()
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id], { timeout: 60_000 })
  assertResponsive(t, await w.stop())
  t.is(r.code, 137, `killed by SIGKILL (the OOM killer): ${describe(r)}`)
})

h.it('a disk filler in an 8 MiB tmpfs hits ENOSPC inside; the host stays responsive', async (t) => {
  const b = h.bundle(['sh', '-c', 'dd if=/dev/zero of=/fill/f bs=1M 2>&1; df -k /fill | tail -1'], (c) => {
    c.mounts.push({ destination: '/fill', type: 'tmpfs', source: 'tmpfs', options: ['size=8m', 'nosuid', 'nodev'] })
  })
  const w = watchHost()
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id], { timeout: 60_000 })
  assertResponsive(t, await w.stop())
  t.regex(r.stdout, /No space left on device/, describe(r))
  t.regex(r.stdout, /\s8192\s+8192\s+0\s+100%/, `the tmpfs is full at exactly its 8 MiB: ${describe(r)}`)
})
