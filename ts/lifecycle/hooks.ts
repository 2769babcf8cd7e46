/**
 * OCI hooks: host programs run at fixed points of the lifecycle, each fed the container's
 * state JSON on stdin. Node spawns them directly (plain fork/exec through libuv; no
 * namespace is entered), in config order, one at a time.
 *
 * When they run (the suite's reading of config.md, which lxts follows):
 * - createRuntime: during `create`, while the init is paused after its mounts and before
 *   pivot_root (the helper reports `hooks`, see helper.ts), status `creating`. A failure
 *   fails `create`; nothing is left behind.
 * - prestart: during `start`, before the process runs, status `created`. A failure kills
 *   and removes the container and fails `start`.
 * - poststart: after the process started, before `start` returns, status `running`.
 * - poststop: during `delete`, after the container stopped, status `stopped`.
 * A failing poststart or poststop hook is a warning; the remaining hooks still run.
 * createContainer (after createRuntime, before pivot_root) and startContainer (after prestart,
 * before the process) run in the container's namespaces, which Node never enters: the init
 * runs them itself (crates/lxts-core/src/container/hooks.rs).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { readFileSync } from 'node:fs'

import type { OciHook, OciHooks } from '../config/types.js'
import { LxtsError, errnoCode } from '../errors.js'
import type { ContainerStatus } from './status.js'
import type { StoredState } from './types.js'
import { childProcess } from '../lazy-builtins.js'

/** The hook kinds lxts runs. */
export type HookKind = 'createRuntime' | 'prestart' | 'poststart' | 'poststop'

/** The state a hook gets on stdin (the OCI state). */
export interface HookState {
  ociVersion: string
  id: string
  status: string
  pid?: number | undefined
  bundle: string
  annotations?: Record<string, string> | undefined
}

/** Hooks whose failure only warns. */
const WARN_ONLY: ReadonlySet<HookKind> = new Set(['poststart', 'poststop'])

/** Output kept from a failing hook for the error message. */
const MAX_OUTPUT = 4096

function describe(kind: HookKind, i: number, hook: OciHook): string {
  return `hooks.${kind}[${i}] (${hook.path})`
}

/** Run one hook to completion; throws ERR_LXTS_HOOK on a spawn error, non-zero exit, signal or timeout. */
export function runHook(kind: HookKind, i: number, hook: OciHook, state: HookState): Promise<void> {
  const what = describe(kind, i, hook)
  const field = `hooks.${kind}[${i}]`
  return new Promise((resolve, reject) => {
    const args = hook.args ?? [hook.path]
    const env: Record<string, string> = {}
    for (const e of hook.env ?? []) {
      const eq = e.indexOf('=')
      if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1)
    }
    let child: ChildProcessWithoutNullStreams
    try {
      child = childProcess().spawn(hook.path, args.slice(1), { argv0: args[0] ?? hook.path, env, stdio: ['pipe', 'pipe', 'pipe'] })
    } catch (err) {
      // spawn throws synchronously for some paths (ENAMETOOLONG for a 4 KiB name): still ERR_LXTS_HOOK
      const e = err as NodeJS.ErrnoException
      const details = e.errno === undefined ? { cause: err } : { cause: err, errno: e.errno }
      reject(new LxtsError('ERR_LXTS_HOOK', `${what} could not be run: ${e.message}`, { ...details, syscall: 'execve', field, path: hook.path }))
      return
    }
    let output = ''
    const keep = (b: Buffer): void => {
      if (output.length < MAX_OUTPUT) output += b.toString('utf8').slice(0, MAX_OUTPUT - output.length)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    // A hook that never reads stdin may close it early: EPIPE is not its failure.
    child.stdin.on('error', () => {})
    child.stdin.end(JSON.stringify(state))
    let timedOut = false
    const timer =
      hook.timeout === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true
            child.kill('SIGKILL')
          }, hook.timeout * 1000)
    const fail = (message: string, details: { errno?: number; syscall?: string; cause?: unknown } = {}): void => {
      const out = output.trim()
      reject(new LxtsError('ERR_LXTS_HOOK', `${what} ${message}${out === '' ? '' : `: ${out}`}`, { ...details, field, path: hook.path }))
    }
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      fail(`could not be run: ${err.message}`, { syscall: 'execve', cause: err })
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (timedOut) fail(`timed out after ${hook.timeout} s and was killed`)
      else if (signal !== null) fail(`was killed by ${signal}`)
      else if (code !== 0) fail(`exited with status ${code}`)
      else resolve()
    })
  })
}

/**
 * Run every hook of `kind` in order. Fatal kinds stop at the first failure and throw;
 * poststart and poststop hand each failure to `warn` and go on.
 */
export async function runHooks(
  kind: HookKind,
  hooks: OciHooks | undefined,
  state: HookState,
  warn: (err: LxtsError) => void = (err) => process.emitWarning(err.message, { code: err.code }),
): Promise<void> {
  const list = hooks?.[kind] ?? []
  for (const [i, hook] of list.entries()) {
    try {
      await runHook(kind, i, hook, { ...state })
    } catch (err) {
      if (!(err instanceof LxtsError) || !WARN_ONLY.has(kind)) throw err
      warn(err)
    }
  }
}

/** The hooks of the config recorded at create (`<root>/<id>/config.json`); undefined when it has none. */
export async function loadHooks(configFile: string): Promise<OciHooks | undefined> {
  return (await loadSaved(configFile))?.hooks
}

/** What `delete` needs of the config saved at create. */
export interface SavedConfig {
  hooks?: OciHooks | undefined
  /** The container had a pid namespace of its own (listed without a path). */
  ownPidNamespace: boolean
}

/** The config saved at create (`<stateDir>/config.json`), or undefined when it is missing. */
export async function loadSaved(configFile: string): Promise<SavedConfig | undefined> {
  let text: string
  try {
    // Sync, as the state store: a local file, read in microseconds without a thread-pool hop.
    text = readFileSync(configFile, 'utf8')
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined
    throw err
  }
  const config = JSON.parse(text) as { hooks?: OciHooks; linux?: { namespaces?: { type?: unknown; path?: unknown }[] } }
  const ownPidNamespace = (config.linux?.namespaces ?? []).some((n) => n.type === 'pid' && (n.path === undefined || n.path === ''))
  return { hooks: config.hooks, ownPidNamespace }
}

/** The OCI state handed to a hook, with the status the hook must see. */
export function hookState(s: StoredState, status: ContainerStatus): HookState {
  const out: HookState = { ociVersion: s.ociVersion, id: s.id, status, bundle: s.bundle }
  if (s.pid !== undefined && status !== 'stopped') out.pid = s.pid
  if (s.annotations !== undefined) out.annotations = s.annotations
  return out
}
