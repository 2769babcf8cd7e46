/**
 * Spawning `lxts-helper` and speaking the control protocol on its fd 3: one plan line
 * out, report lines (`created`, `error`, `exited`) back. See docs/ARCHITECTURE.md.
 */
import type { StdioNull, StdioPipe } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import type { Socket } from 'node:net'
import type { Stream } from 'node:stream'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { LxtsError, fromNative } from '../errors.js'
import { LIBC_SUFFIXES, isSealedFd, loadNative, loadedNative, sealedImage } from '../native.js'
import type { Plan } from '../config/plan.js'
import type { ExitStatus } from './types.js'
import { childProcess } from '../lazy-builtins.js'
import { LaunchedHelper, nativeStdio, type HelperChild } from './launch.js'

/** One of the container's stdio: inherited, ignored, piped, an fd or a stream with an fd. */
export type StdioSpec = StdioNull | StdioPipe | number | Stream

/** The `stdio` option: stdin, stdout and stderr, or one of child_process's shorthands for all three. */
export type StdioOption = [StdioSpec, StdioSpec, StdioSpec] | 'ignore' | 'inherit' | 'pipe'

/** The `stdio` option as three entries (undefined stays undefined); ERR_LXTS_USAGE for anything else. */
export function stdioTriple(stdio: unknown): [StdioSpec, StdioSpec, StdioSpec] | undefined {
  if (stdio === undefined) return undefined
  if (stdio === 'ignore' || stdio === 'inherit' || stdio === 'pipe') return [stdio, stdio, stdio]
  if (Array.isArray(stdio) && stdio.length === 3) return stdio as [StdioSpec, StdioSpec, StdioSpec]
  const shown = typeof stdio === 'string' ? `'${stdio}'` : Array.isArray(stdio) ? `an array of ${stdio.length}` : typeof stdio
  throw new LxtsError('ERR_LXTS_USAGE', `stdio must be 'ignore', 'inherit', 'pipe' or [stdin, stdout, stderr], not ${shown}`, { field: 'stdio' })
}

/** `{"type":"created",…}`. */
export interface CreatedReport {
  pid: number
  startTime: number
  cgroups: string[]
  /** The cgroup directories this create made: the only ones `delete` may remove. */
  createdCgroups: string[]
}

/**
 * Where the helper binary is: `$LXTS_HELPER`; else `<package root>/lxts-helper` (a checkout's
 * build); else the one in the installed platform package, `lxts-linux-<arch>-<libc>` (the
 * release puts the static musl helper next to each platform's `.node`). `base` is this
 * module's URL (two levels below the package root, as the CLI bundle is).
 */
export function helperPath(base: URL = new URL(import.meta.url)): string {
  const env = process.env['LXTS_HELPER']
  if (env !== undefined && env !== '') return env
  const own = fileURLToPath(new URL('../../lxts-helper', base))
  if (executable(own)) return own
  const installed = platformHelpers(base)
  const found = installed.find(executable)
  if (found !== undefined) return found
  throw new LxtsError('ERR_LXTS_NATIVE_UNAVAILABLE', `lxts-helper not found at ${[own, ...installed].join(' or ')} (run \`npm run build:native\` or set LXTS_HELPER)`, {
    path: own,
  })
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** `lxts-helper` in each platform package of this arch that resolves from `base`, glibc's first. */
function platformHelpers(base: URL): string[] {
  const require = createRequire(base)
  return (LIBC_SUFFIXES[process.arch] ?? []).flatMap((libc) => {
    try {
      return [join(dirname(require.resolve(`lxts-linux-${process.arch}-${libc}/package.json`)), 'lxts-helper')]
    } catch {
      return []
    }
  })
}

let sealed: Promise<number> | undefined

/**
 * What to spawn as the helper: `/proc/self/fd/N`, a sealed image of it that the binding makes
 * once per process (the CVE-2019-5736 defence: the file through a lower-only overlay, else a
 * memfd copy; `$LXTS_HELPER_IMAGE=memfd` asks for the copy), so each helper skips making its own
 * and re-exec'ing from it. The fd is checked to be that image still before each use (were it
 * closed behind lxts's back, its number could name anything). `$LXTS_HELPER` (a wrapper,
 * perhaps a script) is spawned as it is and seals itself.
 */
export async function helperExecutable(): Promise<string> {
  // Loaded here so startHelper, which is synchronous, can use the binding's spawn (launch.ts).
  await loadNative()
  if (process.env['LXTS_HELPER']) return helperPath()
  let fd = await sealedFd()
  if (!(await isSealedFd(fd))) {
    // Closed behind lxts's back (its number perhaps reused): one new copy.
    sealed = undefined
    fd = await sealedFd()
    if (!(await isSealedFd(fd))) throw new LxtsError('ERR_LXTS_HELPER', `the sealed image of ${helperPath()} (fd ${fd}) is not sealed`)
  }
  return `/proc/self/fd/${fd}`
}

/**
 * The cached image's fd, made on first use from {@link helperPath} (which is looked up only
 * then: ~0.17 ms a container otherwise); a failed one is not cached.
 */
async function sealedFd(): Promise<number> {
  sealed ??= sealedImage(helperPath(), process.env['LXTS_HELPER_IMAGE'] === 'memfd')
  try {
    return await sealed
  } catch (err) {
    sealed = undefined
    throw err
  }
}

/** A running helper. */
export interface Helper {
  readonly child: HelperChild
  /** Resolves on the `created` report (create mode: once the helper has also exited). */
  readonly created: Promise<CreatedReport>
  /** Monitor mode: how the container ended (from the `exited` report). */
  readonly exited: Promise<ExitStatus>
  /** Whether this helper starts the process itself (the plan's `startOnCreate`). */
  readonly startsProcess: boolean
  /** With {@link Helper.startsProcess}: resolves on the `running` report, rejects with the start's error. */
  readonly running: Promise<void>
  /** Keep the caller's event loop alive until the helper exits (undo with {@link Helper.unref}); calls nest. */
  ref(): void
  /** Let the caller's process exit while the helper (and container) lives on. */
  unref(): void
}

/** Options of {@link startHelper}. */
export interface StartHelperOptions {
  /** The container's stdio (default: inherit the caller's). */
  stdio?: [StdioSpec, StdioSpec, StdioSpec] | undefined
  /**
   * The init paused before `pivot_root` (`{"type":"hooks","pid"}`, only when the config has
   * createRuntime hooks): run them; resolving resumes the init, rejecting aborts the create
   * with that error.
   */
  onHooks?: ((pid: number) => Promise<void>) | undefined
}

function reportError(o: Record<string, unknown>): LxtsError {
  return fromNative(
    { ...o, message: typeof o['message'] === 'string' ? o['message'] : 'the helper reported an error' },
    'ERR_LXTS_HELPER',
  )
}

/**
 * Follow the helper's reports on the control channel: one JSON object per line to `report`;
 * a line that is not JSON to `malformed` as ERR_LXTS_PROTOCOL. Blank lines and read errors
 * (a helper that died: its exit is reported by `close`) are ignored.
 */
export function onReports(control: Socket, report: (msg: Record<string, unknown>, line: string) => void, malformed: (e: LxtsError) => void): void {
  const handle = (line: string): void => {
    if (line.trim() === '') return
    let msg: Record<string, unknown>
    try {
      msg = JSON.parse(line) as Record<string, unknown>
    } catch {
      malformed(new LxtsError('ERR_LXTS_PROTOCOL', `lxts-helper sent a malformed report: ${line.slice(0, 200)}`))
      return
    }
    report(msg, line)
  }
  // Split by hand: readline's module costs the CLI ~1.5 ms to load, for a few short lines.
  let pending = ''
  control.setEncoding('utf8')
  control.on('data', (chunk: string) => {
    pending += chunk
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl)
      pending = pending.slice(nl + 1)
      handle(line)
    }
  })
  // A last line without its newline still counts.
  control.on('end', () => {
    if (pending !== '') handle(pending)
    pending = ''
  })
}

/** The exit status in an `exited` report. */
export function exitOf(o: Record<string, unknown>): ExitStatus {
  const code = o['exitCode']
  const sig = o['signal']
  return { exitCode: Number.isInteger(code) ? (code as number) : -1, signal: Number.isInteger(sig) ? (sig as number) : null }
}

/**
 * A helper spawned ahead of need, waiting for its plan on fd 3. Spawning is a `fork` of Node
 * (~1.4 ms here, with the event loop blocked); once a process asks twice in a row for helpers of
 * one shape (the library running containers one after another), the next one is spawned while
 * the current helper sets up its container, and the next create takes it. A spare holds no
 * references: Node exits as if it were not there, and the spare, seeing fd 3 close before any
 * plan, exits 0. Only plain shapes qualify: stdio of `ignore`/`inherit`, no preserved fds,
 * and not `$LXTS_HELPER` (a wrapper or test double).
 */
interface Spare {
  key: string
  child: HelperChild
  control: Socket
  /** Ends an untaken spare (a library that stopped creating keeps no idle process). */
  idle: NodeJS.Timeout
}

/** How long a spare waits to be taken before it is let go. */
const SPARE_IDLE_MS = 10_000

let spare: Spare | undefined
let lastKey: string | undefined

function spareKey(executable: string, stdio: StdioSpec[], monitor: boolean, preserveFds: number): string | undefined {
  if (preserveFds > 0 || process.env['LXTS_HELPER']) return undefined
  if (!stdio.every((s) => s === 'ignore' || s === 'inherit')) return undefined
  return JSON.stringify([executable, stdio, monitor])
}

/**
 * Start a helper: through the binding's posix_spawn when the shape allows it and the binding
 * is loaded (see launch.ts), else libuv's spawn. Throws ERR_LXTS_HELPER when posix_spawn fails;
 * libuv's spawn reports failures as the child's `error` event instead.
 */
export function spawnHelper(executable: string, stdio: StdioSpec[], monitor: boolean, preserved: number[], first?: Buffer): HelperChild {
  const native = loadedNative()
  const fds = stdio.map(nativeStdio)
  if (native !== undefined && preserved.length === 0 && fds.every((fd) => fd !== undefined)) {
    return new LaunchedHelper(native, executable, fds as number[], monitor, first)
  }
  return childProcess().spawn(executable, [], { argv0: 'lxts-helper', stdio: [...stdio, 'pipe', ...preserved] as StdioSpec[], detached: monitor })
}

/**
 * [`spawnHelper`] with its plan line: `posix_spawn` queues it on the control channel before the
 * helper starts, so the helper does not wait while this process sets up the channel's socket
 * and its report handlers (milliseconds of cold code in a one-shot CLI). What it could not
 * queue, and all of it with `child_process`, is written here.
 */
export function spawnWithPlan(executable: string, stdio: StdioSpec[], monitor: boolean, preserved: number[], line: string): HelperChild {
  const first = Buffer.from(line)
  const child = spawnHelper(executable, stdio, monitor, preserved, first)
  const rest = child instanceof LaunchedHelper ? first.subarray(child.sent) : first
  if (rest.length > 0) (child.stdio[3] as Socket | null | undefined)?.write(rest)
  return child
}

/** The spare of this shape, still waiting (referenced again), or undefined. */
function takeSpare(key: string): HelperChild | undefined {
  const s = spare
  if (s === undefined || s.key !== key) return undefined
  spare = undefined
  clearTimeout(s.idle)
  if (s.child.exitCode !== null || s.child.signalCode !== null || s.control.destroyed) return undefined
  s.child.ref()
  s.control.ref()
  return s.child
}

function prepareSpare(key: string, executable: string, stdio: StdioSpec[], monitor: boolean): void {
  if (spare?.key === key) return
  if (spare !== undefined) {
    clearTimeout(spare.idle)
    spare.control.end() // a spare of another shape: it sees EOF and exits
  }
  let child: HelperChild
  try {
    child = spawnHelper(executable, stdio, monitor, [])
  } catch {
    return // the next create spawns its own helper and reports any error
  }
  const control = child.stdio[3] as Socket | null | undefined
  child.on('error', () => {})
  if (control === null || control === undefined) return
  control.on('error', () => {})
  child.unref()
  control.unref()
  const idle = setTimeout(() => {
    if (spare?.child !== child) return
    spare = undefined
    control.end()
  }, SPARE_IDLE_MS)
  idle.unref()
  spare = { key, child, control, idle }
}

/** Spawn the helper for `plan` (or take the spare), send the plan and follow its reports. */
export function startHelper(executable: string, plan: Plan, o: StartHelperOptions = {}): Helper {
  const monitor = plan.mode === 'monitor'
  const stdio: StdioSpec[] = o.stdio ?? ['inherit', 'inherit', 'inherit']
  // --preserve-fds N: the caller's fds 3..3+N-1 reach the helper as 4..4+N-1 (fd 3 is the
  // control channel); the init moves them back to 3..3+N-1 before execve.
  const preserved = Array.from({ length: plan.preserveFds }, (_, k) => 3 + k)
  const key = spareKey(executable, stdio, monitor, plan.preserveFds)
  const line = `${JSON.stringify(plan)}\n`
  const spare = key === undefined ? undefined : takeSpare(key)
  const child = spare ?? spawnWithPlan(executable, stdio, monitor, preserved, line)
  const repeated = key !== undefined && key === lastKey
  lastKey = key
  const control = child.stdio[3] as Socket | null | undefined
  let resolveCreated!: (r: CreatedReport) => void
  let rejectCreated!: (e: LxtsError) => void
  let resolveExited!: (e: ExitStatus) => void
  let rejectExited!: (e: LxtsError) => void
  const created = new Promise<CreatedReport>((res, rej) => ((resolveCreated = res), (rejectCreated = rej)))
  const exited = new Promise<ExitStatus>((res, rej) => ((resolveExited = res), (rejectExited = rej)))
  let resolveRunning!: () => void
  let rejectRunning!: (e: LxtsError) => void
  const running = new Promise<void>((res, rej) => ((resolveRunning = res), (rejectRunning = rej)))
  running.catch(() => {})
  // Nobody may ever await `exited` (create mode); never report it as unhandled.
  exited.catch(() => {})
  let report: CreatedReport | undefined
  let failure: LxtsError | undefined
  let exitReport: ExitStatus | undefined
  let spawnError: Error | undefined

  child.on('error', (e) => {
    spawnError = e
    if (report !== undefined) return
    const le = new LxtsError('ERR_LXTS_HELPER', `cannot run lxts-helper: ${e.message}`, { cause: e })
    rejectCreated(le)
    rejectExited(le)
  })
  if (control === null || control === undefined) throw new LxtsError('ERR_LXTS_HELPER', 'no control channel to lxts-helper')
  control.on('error', () => {})
  onReports(
    control,
    (msg, line) => {
      if (msg['type'] === 'created') {
        const pid = msg['pid']
        const startTime = msg['startTime']
        const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((c) => typeof c === 'string') : [])
        const cgroups = strings(msg['cgroups'])
        const createdCgroups = strings(msg['createdCgroups'])
        if (!Number.isInteger(pid) || !Number.isInteger(startTime)) {
          failure ??= new LxtsError('ERR_LXTS_PROTOCOL', `lxts-helper sent a malformed created report: ${line}`)
          return
        }
        report = { pid: pid as number, startTime: startTime as number, cgroups, createdCgroups }
        if (monitor) resolveCreated(report)
      } else if (msg['type'] === 'hooks') {
        const pid = msg['pid']
        const run = o.onHooks === undefined || !Number.isInteger(pid) ? Promise.resolve() : o.onHooks(pid as number)
        run.then(
          () => control.write('{"type":"resume"}\n'),
          (err: unknown) => {
            failure ??= err instanceof LxtsError ? err : new LxtsError('ERR_LXTS_HOOK', String(err), { cause: err })
            // EOF instead of resume: the helper kills the init, cleans up and exits.
            control.end()
          },
        )
      } else if (msg['type'] === 'running') {
        resolveRunning()
      } else if (msg['type'] === 'error') {
        if (report !== undefined && plan.startOnCreate) {
          // After `created`: the start failed (the init's error); its exit is reported next.
          rejectRunning(reportError(msg))
          return
        }
        failure ??= reportError(msg)
        rejectCreated(failure)
      } else if (msg['type'] === 'exited') {
        exitReport = exitOf(msg)
        resolveExited(exitReport)
      }
    },
    (e) => (failure ??= e),
  )

  child.on('close', (code, signal) => {
    const how = signal === null ? `exit code ${code}` : `signal ${signal}`
    if (report === undefined || failure !== undefined) {
      const e =
        failure ??
        (spawnError === undefined
          ? new LxtsError('ERR_LXTS_HELPER', `lxts-helper ended (${how}) before creating the container`)
          : new LxtsError('ERR_LXTS_HELPER', `cannot run lxts-helper: ${spawnError.message}`, { cause: spawnError }))
      rejectCreated(e)
      rejectExited(e)
      rejectRunning(e)
      return
    }
    resolveCreated(report)
    rejectRunning(new LxtsError('ERR_LXTS_HELPER', `lxts-helper ended (${how}) without reporting the start`))
    if (exitReport === undefined) {
      rejectExited(new LxtsError('ERR_LXTS_HELPER', `lxts-helper ended (${how}) without reporting how the container exited`))
    }
  })

  // A spare got nothing yet; a new helper got its plan at spawn (spawnWithPlan).
  if (spare !== undefined) control.write(line)
  // The next helper forks while this one works on its container (see Spare).
  if (repeated) setImmediate(() => prepareSpare(key, executable, stdio, monitor))
  // Handles start referenced; ref()/unref() nest.
  let refs = 1

  return {
    child,
    created,
    exited,
    startsProcess: plan.startOnCreate,
    running,
    ref() {
      if (refs++ === 0) {
        child.ref()
        control.ref()
      }
    },
    unref() {
      if (--refs === 0) {
        child.unref()
        control.unref()
      }
    },
  }
}
