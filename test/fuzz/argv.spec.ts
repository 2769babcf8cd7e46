/**
 * Fuzzing of the CLI's argv, in-process against the fake library (no containers): random verbs,
 * flags and values (nasty strings, numbers, `--x=`, repeated flags, missing and extra
 * positionals). Nothing may throw or hang; every failure is an exit code with an
 * `(ERR_LXTS_*)` code on stderr. Where the fast path takes an argv, it must do what yargs does
 * (same library calls, same exit code).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { parseFast, runFast } from '../../ts/cli/fast-path.js'
import { cli, stateOf, type FakeBehaviour, type Runner } from '../cli/fake.js'
import { fuzzCases, fuzzSeed, NASTY_STRINGS, Rng } from '../helpers/fuzz.js'

// Never `spec`, `--log`, `--pid-file` or `cgroup`: they act on the real host (config.json, a log
// line appended, a pid file renamed into place, real cgroups) wherever the argv says — an
// early version of this fuzzer appended a log line to /etc/passwd through ../../../../etc/passwd.
const VERBS = ['create', 'start', 'state', 'kill', 'delete', 'run', 'list', 'exec', 'ps', 'pause', 'resume', 'events', 'update', 'wait', 'logs', 'features', 'bogus', '']
const FLAGS = [
  '--root', '--log-format', '--debug', '--systemd-cgroup', '--rootless', '--bundle', '-b', '--console-socket', '--no-pivot', '--no-new-keyring',
  '--preserve-fds', '--force', '-f', '--all', '-a', '--detach', '-d', '--rm', '--init', '--format', '--cwd', '--env', '-e', '--user', '-u', '--cap', '--tty', '-t', '--process', '-p',
  '--help', '--version', '-v', '--',
]
/** No value names a real host file: paths point into a directory that does not exist. */
const VALUES = [...NASTY_STRINGS.filter((s) => s.length < 5000 && !s.includes('etc/passwd') && !s.startsWith('/proc/self')), 'c1', 's1', 'KILL', 'SIGTERM', '9', '0', '3', 'json', 'text', 'table', '/tmp', 'true', 'false']

function argv(r: Rng): string[] {
  const out: string[] = []
  if (r.chance(0.3)) out.push(r.pick(['--root', '--log-format']), r.pick(VALUES))
  out.push(r.pick(VERBS))
  for (let i = r.int(6); i > 0; i--) {
    // a flag may repeat: single-value ones keep the last value, -e/--cap collect
    const f = r.chance(0.2) && out.length > 1 ? (out.filter((a) => FLAGS.includes(a)).at(-1) ?? r.pick(FLAGS)) : r.pick(FLAGS)
    switch (r.int(4)) {
      case 0:
        out.push(f)
        break
      case 1:
        out.push(f, r.pick(VALUES))
        break
      case 2:
        out.push(`${f}=${r.pick(VALUES)}`)
        break
      default:
        out.push(r.pick(VALUES))
    }
  }
  if (r.chance(0.7)) out.push(r.pick(['c1', 's1', 'new1', ...VALUES]))
  return out
}

const yargsRunner: Runner = async (args, ctx) => {
  const { runCli } = await import('../../ts/cli/run-cli.js')
  const { loadYargs } = await import('../../ts/cli/load-yargs.js')
  return runCli(args, ctx, await loadYargs())
}
const fastRunner: Runner = async (args, ctx) => {
  const c = parseFast(args)
  if (c === undefined) throw new Error('not taken')
  return runFast(c, ctx)
}

// belt and braces: anything relative the CLI might still write lands in an empty temp dir
const WORK = mkdtempSync(join(tmpdir(), 'lxts-argv-fuzz-'))
const HOME = process.cwd()
test.before(() => process.chdir(WORK))
test.after.always(() => {
  process.chdir(HOME)
  rmSync(WORK, { recursive: true, force: true })
})

const BEHAVIOUR: FakeBehaviour = { states: [stateOf('c1'), stateOf('s1', 'stopped')] }

test('argv fuzz: no throw, no hang; failures carry an ERR_LXTS code; the fast path agrees with yargs', async (t) => {
  const n = Math.max(500, Math.floor(fuzzCases(10_000) / 10))
  const seed0 = fuzzSeed() + 9_000_000
  let fast = 0
  const mismatches: string[] = []
  for (let i = 0; i < n; i++) {
    const seed = seed0 + i
    const args = argv(new Rng(seed))
    const what = `seed ${seed}: ${JSON.stringify(args).slice(0, 300)}`
    let r
    try {
      r = await cli(args, BEHAVIOUR, '/work/bundle', yargsRunner)
    } catch (err) {
      return t.fail(`${what} threw ${err instanceof Error ? err.stack : String(err)}`)
    }
    if (!Number.isInteger(r.code) || r.code < 0 || r.code > 255) return t.fail(`${what}: exit code ${r.code}`)
    if (r.code !== 0 && !/\((ERR_LXTS_[A-Z_]+)\)\n$/.test(r.stderr)) return t.fail(`${what}: exit ${r.code} without a code: ${JSON.stringify(r.stderr.slice(0, 300))}`)
    if (parseFast(args) !== undefined) {
      fast++
      const f = await cli(args, BEHAVIOUR, '/work/bundle', fastRunner)
      if (f.code !== r.code || JSON.stringify(f.calls) !== JSON.stringify(r.calls)) {
        mismatches.push(`${what}\n  yargs: ${r.code} ${JSON.stringify(r.calls)} ${r.stderr.trim()}\n  fast:  ${f.code} ${JSON.stringify(f.calls)} ${f.stderr.trim()}`)
      }
    }
  }
  t.log(`${n} argvs from seed ${seed0}, ${fast} taken by the fast path`)
  t.deepEqual(mismatches.slice(0, 5), [], `${mismatches.length} fast-path/yargs disagreements`)
})

// yargs makes a repeated flag an array; single-value flags keep the last value, as in runc
// (ts/cli/last-wins.ts), while exec's -e/--cap and the positional lists still collect.
test('a repeated single-value flag: the last one wins, as in runc', async (t) => {
  // the fake library's create writes no pid file
  const r = await cli(['create', '--pid-file', '/nonexistent-lxts/a', '--pid-file=/nonexistent-lxts/b', 'new1'], BEHAVIOUR, '/work/bundle', yargsRunner)
  t.is(r.code, 0, r.stderr)
  const call = r.calls.find((c) => c.op === 'create')
  t.is(call?.op === 'create' ? call.options.pidFile : undefined, '/nonexistent-lxts/b')
  const b = await cli(['--root', '/r1', 'create', '--bundle', '/a', '-b', '/b', '--console-socket', '/s1', '--console-socket', '/s2', '--root', '/r2', 'new1'], BEHAVIOUR, '/work/bundle', yargsRunner)
  t.is(b.code, 0, b.stderr)
  t.like(b.calls, [{ op: 'openRuntime', root: '/r2' }, { op: 'create', options: { bundle: '/b', consoleSocket: '/s2' } }])
})

test('repeatable flags still collect every value: exec -e, --cap, the command', async (t) => {
  const r = await cli(['exec', '-e', 'A=1', '--env', 'B=2', '--cap', 'CAP_KILL', '--cap', 'CAP_CHOWN', 'c1', 'sh', '-c', 'true'], BEHAVIOUR, '/work/bundle', yargsRunner)
  t.is(r.code, 0, r.stderr)
  const call = r.calls.find((c) => c.op === 'exec')
  t.like(call, { op: 'exec', process: { args: ['sh', '-c', 'true'] } })
  const p = JSON.stringify(call)
  t.true(p.includes('"A=1"') && p.includes('"B=2"'), p)
  t.true(p.includes('CAP_KILL') && p.includes('CAP_CHOWN'), p)
  // an invalid first -e is still seen (it was not collapsed away)
  const bad = await cli(['exec', '-e', 'nope', '-e', 'A=1', 'c1', 'true'], BEHAVIOUR, '/work/bundle', yargsRunner)
  t.regex(bad.stderr, /invalid --env "nope".*ERR_LXTS_USAGE/)
})
