/** Small helpers shared by the node benchmarks: timing, medians, result files. */
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const RESULTS = process.env.RESULTS || join(REPO, 'bench', 'results')

export function median(values) {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Milliseconds since `start` (a `process.hrtime.bigint()`). */
export function since(start) {
  return Number(process.hrtime.bigint() - start) / 1e6
}

/** Runs a command to completion; rejects on a non-zero exit. */
export function exec(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options })
    let stderr = ''
    child.stderr?.on('data', (d) => (stderr += d))
    child.on('error', reject)
    // 'exit', not 'close': a container started by `runc create` keeps the stderr pipe open.
    child.on('exit', (code, signal) => {
      child.stderr?.destroy()
      if (code === 0) resolve()
      else reject(new Error(`${cmd} ${args.join(' ')}: exit ${code ?? signal}: ${stderr.trim()}`))
    })
  })
}

/** Reads `--name value` / `--flag` arguments. */
export function options(defaults) {
  const out = { ...defaults }
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '')
    if (name === 'quick') out.quick = true
    else if (name in out) out[name] = Number(argv[++i])
    else throw new Error(`unknown argument ${argv[i]}`)
  }
  return out
}

/** Writes `bench/results/<name>.json`. */
export function save(name, data) {
  mkdirSync(RESULTS, { recursive: true })
  const file = join(RESULTS, `${name}.json`)
  writeFileSync(file, `${JSON.stringify({ ...data, date: new Date().toISOString() }, null, 2)}\n`)
  return file
}

/** The lxts library: dist/index.js, or the module named by $LXTS_BENCH_LIB. */
export function loadLibrary() {
  const path = process.env.LXTS_BENCH_LIB || join(REPO, 'dist', 'index.js')
  return import(path)
}

/** The lxts command line as words: `node bin/lxts.js`, or $LXTS_BENCH_CLI (space-separated). */
export const LXTS_CLI = (process.env.LXTS_BENCH_CLI || `node ${join(REPO, 'bin', 'lxts.js')}`).split(' ').filter(Boolean)
