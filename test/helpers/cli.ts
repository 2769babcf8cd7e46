/**
 * Run the real CLI (`node bin/lxts.js --root R …`) and capture its output.
 *
 * stdout/stderr go to temp FILES, not pipes: after `create` the container init keeps the CLI's
 * stdio open, so waiting for a pipe to close would hang until the container dies.
 */
import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO } from './env.js'

/** The outcome of one CLI run. */
export interface CliResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** The command line, for assertion messages. */
  argv: string[]
  timedOut: boolean
}

/** Options of {@link lxts}. */
export interface CliOptions {
  /** Written to the CLI's stdin (else stdin is /dev/null). */
  input?: string
  /** Deliver `input` through a pipe instead of a regular file. */
  pipeInput?: boolean
  /** Kill the CLI (SIGKILL) after this many ms. Default 30 s. */
  timeout?: number
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Extra fds handed to the CLI as its fds 3, 4, … (for --preserve-fds). */
  extraFds?: number[]
  /** Called with the CLI's pid once spawned (to signal it, e.g. to test forwarding). */
  onSpawn?: (pid: number) => void
  /** A command that runs the CLI (`[...wrap, node, cli, …]`), e.g. {@link CGROUP2_VIEW}. */
  wrap?: string[]
}

/**
 * Run the CLI as on a cgroup v2 host: in a private mount namespace whose /sys/fs/cgroup is the
 * host's cgroup2 hierarchy alone (the v1 mounts are hidden there; the host's stay as they are).
 * A container made in this view is seen there as /sys/fs/cgroup/…, so every later command on
 * it must run in the view too. The view is scripts/cgroup2-view.sh, as for the benchmarks.
 */
export const CGROUP2_VIEW = [join(REPO, 'scripts', 'cgroup2-view.sh')]

/** Path of the CLI entry. */
export const CLI: string = join(REPO, 'bin', 'lxts.js')

/** Run `lxts [--root root] ...args`. `root` null means no --root flag. */
export async function lxts(root: string | null, args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const argv = [CLI, ...(root === null ? [] : ['--root', root]), ...args]
  const dir = mkdtempSync(join(tmpdir(), 'lxts-cli-'))
  const inPath = join(dir, 'stdin')
  writeFileSync(inPath, opts.input ?? '')
  const stdin = opts.input === undefined ? openSync('/dev/null', 'r') : openSync(inPath, 'r')
  const stdout = openSync(join(dir, 'stdout'), 'w')
  const stderr = openSync(join(dir, 'stderr'), 'w')
  try {
    const [cmd, ...rest] = [...(opts.wrap ?? []), process.execPath, ...argv] as [string, ...string[]]
    const child = spawn(cmd, rest, {
      stdio: [opts.pipeInput === true ? 'pipe' : stdin, stdout, stderr, ...(opts.extraFds ?? [])],
      cwd: opts.cwd ?? REPO,
      env: opts.env ?? process.env,
    })
    if (opts.pipeInput === true) {
      child.stdin?.on('error', () => {}) // EPIPE if the container never reads
      child.stdin?.end(opts.input ?? '')
    }
    if (child.pid !== undefined) opts.onSpawn?.(child.pid)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, opts.timeout ?? 30_000)
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject)
      child.once('exit', (c, s) => resolve([c, s]))
    })
    clearTimeout(timer)
    return {
      code,
      signal,
      stdout: readFileSync(join(dir, 'stdout'), 'utf8'),
      stderr: readFileSync(join(dir, 'stderr'), 'utf8'),
      argv: ['lxts', ...argv.slice(1)],
      timedOut,
    }
  } finally {
    closeSync(stdin)
    closeSync(stdout)
    closeSync(stderr)
    rmSync(dir, { recursive: true, force: true })
  }
}

/** One line describing a result, for assertion messages. */
export function describe(r: CliResult): string {
  return `${r.argv.join(' ')} → code=${r.code} signal=${r.signal}${r.timedOut ? ' (TIMED OUT)' : ''}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`
}
