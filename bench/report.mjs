#!/usr/bin/env node
/**
 * Gathers bench/results/*.json into results/summary.json and results/summary.md: medians,
 * lxts/runc ratios and the machine they were measured on.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release } from 'node:os'
import { join } from 'node:path'
import { RESULTS } from './lib/stats.mjs'

const read = (name) => {
  const file = join(RESULTS, `${name}.json`)
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined
}
const ms = (seconds) => seconds * 1000
const fmt = (value, digits = 1) => (value === undefined || value === null ? '–' : value.toFixed(digits))
const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}×`)
const sh = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).split('\n')[0].trim()
  } catch {
    return 'unknown'
  }
}
function cgroupMode() {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
  const v1 = / cgroup /.test(mounts)
  const v2 = / cgroup2 /.test(mounts)
  return v1 && v2 ? 'hybrid' : v2 ? 'v2' : v1 ? 'v1' : 'none'
}

const machine = {
  cpus: cpus().length,
  kernel: release(),
  cgroups: cgroupMode(),
  node: process.version,
  runc: sh('runc', ['--version']),
  hyperfine: sh('hyperfine', ['--version']),
  loadavg: loadavg().map((l) => l.toFixed(2)).join(' '),
}
const lines = [`Machine: ${machine.cpus} cores, kernel ${machine.kernel}, ${machine.cgroups} cgroups, Node ${machine.node}, ${machine.runc}; load average at report time ${machine.loadavg}.`, '']
lines.push(
  process.env['LXTS_BENCH_STATE']
    ? 'State roots (`--root`) of both runtimes on a tmpfs, as `/run` is on a stock host (this machine\'s `/run` is on its ext4 root).'
    : 'State roots (`--root`) of both runtimes on this machine\'s disk (LXTS_BENCH_DISK_STATE).',
  '',
)
if (process.env['LXTS_BENCH_CGROUP2_VIEW']) {
  lines.push(
    "Run with `run-all.sh --cgroup2-view`: in a private mount namespace whose `/sys/fs/cgroup` is the host's cgroup2 hierarchy alone, so both runtimes see a cgroup v2 host. Controllers the host keeps on v1 are not enabled there, so memory limits are not measured.",
    '',
  )
}
if (process.env['LXTS_BENCH_DROPPED_EXTRA_CA']) {
  lines.push(
    "The machine's environment sets NODE_EXTRA_CA_CERTS; run-all.sh unset it for the run (lxts makes no TLS connection, a stock host does not set it). The `version` row shows what it adds to every Node start.",
    '',
  )
}

// CLI: one table, lxts next to runc per operation.
const cli = {}
for (const name of ['run', 'create', 'start', 'delete', 'exec', 'state', 'version']) {
  const data = read(`cli-${name}`)
  if (data === undefined) continue
  cli[name] = Object.fromEntries(data.results.map((r) => [r.command, { medianMs: ms(r.median), meanMs: ms(r.mean), userMs: ms(r.user), systemMs: ms(r.system), runs: r.times.length }]))
}
if (Object.keys(cli).length > 0) {
  lines.push('### CLI (hyperfine, median wall ms; CPU = user+system mean)', '', '| operation | runc | lxts | lxts/runc | runc CPU | lxts CPU | other |', '|---|---:|---:|---:|---:|---:|---|')
  for (const [name, rows] of Object.entries(cli)) {
    const entries = Object.entries(rows)
    const runc = entries.find(([k]) => k.startsWith('runc'))?.[1]
    const lxts = entries.find(([k]) => k.startsWith('lxts'))?.[1]
    const others = entries.filter(([k]) => !k.startsWith('runc') && !k.startsWith('lxts')).map(([k, v]) => `${k}: ${fmt(v.medianMs)}`)
    const cpu = (r) => (r === undefined ? undefined : r.userMs + r.systemMs)
    lines.push(`| ${name} | ${fmt(runc?.medianMs)} | ${fmt(lxts?.medianMs)} | ${ratio(lxts?.medianMs, runc?.medianMs)} | ${fmt(cpu(runc))} | ${fmt(cpu(lxts))} | ${others.join('; ')} |`)
  }
  lines.push('')
}

const library = read('library')
if (library !== undefined) {
  const r = library.results
  lines.push(`### Library: containers per second (/bin/true, started, waited for and deleted; n=${library.n})`, '', '| | per second | median latency ms |', '|---|---:|---:|')
  for (const [name, row] of Object.entries(r)) lines.push(`| ${name} | ${fmt(row.perSecond)} | ${fmt(row.medianMs)} |`)
  const seq = r['lxts Runtime.run, sequential']
  const floor = r['kernel floor (unshare+chroot), sequential']
  const runcSeq = r['runc run loop, sequential']
  lines.push('', `One container through the library: ${fmt(seq?.medianMs)} ms = ${ratio(seq?.medianMs, floor?.medianMs)} the kernel floor, ${ratio(seq?.medianMs, runcSeq?.medianMs)} runc run.`, '')
}

const memory = read('memory')
if (memory !== undefined) {
  const r = memory.results
  const limit = (x) => (x === undefined ? '–' : x.status === 'ok' ? `${(x.smallestBytes / 1024).toFixed(0)} KiB` : x.status)
  lines.push('### Memory', '', '| | lxts | runc |', '|---|---:|---:|')
  lines.push(`| host process kept per foreground/monitored container, VmRSS KiB | ${r.monitor?.rssKiB} (monitor helper) | ${r.runcForeground?.rssKiB} (runc run) |`)
  lines.push(`| same, Pss KiB | ${r.monitor?.pssKiB} | ${r.runcForeground?.pssKiB} |`)
  lines.push(`| engine-mode create (no process kept) | 0 | 0 |`)
  if (r.cliRunDetached !== undefined && r.cliCreate !== undefined) {
    const signed = (n) => `${n >= 0 ? '+' : ''}${n}`
    lines.push(`| \`lxts run -d\` from the shell: monitor VmRSS KiB; host Shmem kept per container, KiB | ${r.cliRunDetached.rssKiB}; ${signed(r.cliRunDetached.shmemKiB)} | |`)
    lines.push(`| \`lxts create\` from the shell, not started: host Shmem kept per container, KiB | ${signed(r.cliCreate.shmemKiB)} | |`)
  }
  lines.push(`| smallest linux.resources.memory.limit running /bin/true | ${limit(r.limitLxts)} | ${limit(r.limitRunc)} |`, '')
}

const scale = read('scale')
if (scale !== undefined) {
  const r = scale.results
  lines.push(`### Scale: ${scale.n} containers running sleep at once (create+start, no monitor)`, '', '| | lxts | runc | lxts/runc |', '|---|---:|---:|---:|')
  const row = (label, key, digits = 0) => lines.push(`| ${label} | ${fmt(r.lxts?.[key], digits)} | ${fmt(r.runc?.[key], digits)} | ${ratio(r.lxts?.[key], r.runc?.[key])} |`)
  row('start all, ms', 'startAllMs')
  row('per container, ms', 'perContainerMs', 1)
  row('create+start, first 10 (median ms)', 'first10MedianMs', 1)
  row(`create+start, last 10 (median ms)`, 'last10MedianMs', 1)
  // The steadier measure of the 500th against the 1st: medians of ${scale.n / 10} each, not of 10.
  const tenths = (x) => (x?.perTenthMedianMs === undefined ? '–' : `${(x.perTenthMedianMs[9] / x.perTenthMedianMs[0]).toFixed(2)}×`)
  lines.push(`| create+start, last tenth against first tenth (medians of ${scale.n / 10}) | ${tenths(r.lxts)} | ${tenths(r.runc)} | |`)
  row(`list with ${scale.n}, ms (CLI)`, 'listMs', 1)
  row('delete all, ms', 'deleteAllMs')
  lines.push('', 'lxts starts and deletes through the library (one Node process); runc through its CLI; `list` is the CLI for both.', '')
}

const markdown = `${lines.join('\n')}\n`
writeFileSync(join(RESULTS, 'summary.md'), markdown)
writeFileSync(join(RESULTS, 'summary.json'), `${JSON.stringify({ machine, cli, library, memory, scale }, null, 2)}\n`)
process.stdout.write(markdown)
