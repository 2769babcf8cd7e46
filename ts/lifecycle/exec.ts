/**
 * Running one more process in a live container: the process is built from the container's
 * saved config and the caller's overrides (or taken whole from an OCI process, as engines
 * send it), then `lxts-helper` in `exec` mode joins the init's namespaces and cgroups,
 * clones it and execs (see docs/ARCHITECTURE.md, "exec"). With `process.terminal` the
 * process gets a pty from the container's devpts whose master goes to a console socket:
 * the caller's, or one lxts listens on (the master is then `ExecHandle.terminal`).
 */
import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { join, resolve } from 'node:path'
import type { Duplex, Readable, Writable } from 'node:stream'

import { CAPABILITIES } from '../config/validate.js'
import type { OciCapabilities, OciProcess } from '../config/types.js'
import { LxtsError, fromNative } from '../errors.js'
import { processInfo, waitProcessExit } from '../native.js'
import { exitOf, helperExecutable, onReports, spawnWithPlan, stdioTriple, type StdioOption } from './helper.js'
import type { HelperChild } from './launch.js'
import { hookState } from './hooks.js'
import { liveStatus } from './live-status.js'
import type { StateStore } from './state-store.js'
import { listenConsole, resizeTerminal, terminalStream, type ConsoleReceiver } from './terminal.js'
import type { ExitStatus } from './types.js'
import { nodeCrypto } from '../lazy-builtins.js'

/** What to run: fields given replace the container's own process settings. */
export type ExecProcess = Partial<OciProcess> & { args: string[] }

/** Options of {@link execInContainer} (`Container.exec`). */
export interface ExecOptions {
  /** Return once the process exec'd; lxts does not wait for it. */
  detach?: boolean | undefined
  /** Use `process` as the complete OCI process (what engines send), not as overrides. */
  complete?: boolean | undefined
  /** Capabilities added to bounding, effective and permitted (ambient too when inheritable has them). */
  addCapabilities?: readonly string[] | undefined
  /** Pass fds 3 … 3+N-1 of this process on. */
  preserveFds?: number | undefined
  /** The process's stdio (default: this process's own), or one shorthand for all three. Unused by the process with a terminal. */
  stdio?: StdioOption | undefined
  /**
   * Give the process a terminal (sets `process.terminal`). Without `consoleSocket` lxts owns
   * it: the pty master is {@link ExecHandle.terminal} (not with `detach`: ERR_LXTS_USAGE).
   */
  terminal?: boolean | undefined
  /** A unix socket that receives the pty master (`SCM_RIGHTS`) when `process.terminal` is true. */
  consoleSocket?: string | undefined
}

/** A started exec'd process. */
export interface ExecHandle {
  /** Host pid of the process. */
  readonly pid: number
  /** `/proc/<pid>/stat` start time. */
  readonly startTime: number
  /** The process's stdin/stdout/stderr for `'pipe'` entries of `stdio`, else null. */
  readonly stdio: [Writable | null, Readable | null, Readable | null]
  /** The pty master when lxts owns the process's terminal (`process.terminal` without `consoleSocket`). */
  readonly terminal: Duplex | undefined
  /** Set that terminal's size (TIOCSWINSZ; a no-op without an lxts-owned terminal). */
  resize(cols: number, rows: number): Promise<void>
  /**
   * How it ended. Without `detach` the helper reports it; detached, the process is only
   * watched (pidfd) and its status is unknown (`exitCode` -1). Piped `stdio` may still
   * hold unread output when it resolves: wait for those streams' `'end'`.
   */
  wait(): Promise<ExitStatus>
  /** Signal the process (through the helper while it waits for it). */
  kill(signal: NodeJS.Signals): void
}

function envKey(kv: string): string {
  const i = kv.indexOf('=')
  return i < 0 ? kv : kv.slice(0, i)
}

/** `base` env with `extra` entries replacing same-named ones. */
export function mergeEnv(base: readonly string[], extra: readonly string[]): string[] {
  const keys = new Set(extra.map(envKey))
  return [...base.filter((e) => !keys.has(envKey(e))), ...extra]
}

/** Add capabilities: never to inheritable (CVE-2022-29162), to ambient only when inheritable holds them. */
export function addCapabilities(caps: OciCapabilities | undefined, add: readonly string[]): OciCapabilities {
  const c: OciCapabilities = structuredClone(caps ?? {})
  for (const raw of add) {
    const name = raw.toUpperCase().startsWith('CAP_') ? raw.toUpperCase() : `CAP_${raw.toUpperCase()}`
    if (!CAPABILITIES.includes(name)) {
      throw new LxtsError('ERR_LXTS_USAGE', `unknown capability ${JSON.stringify(raw)}`, { field: '--cap' })
    }
    for (const set of ['bounding', 'effective', 'permitted'] as const) {
      const list = (c[set] ??= [])
      if (!list.includes(name)) list.push(name)
    }
    if ((c.inheritable ?? []).includes(name)) {
      const list = (c.ambient ??= [])
      if (!list.includes(name)) list.push(name)
    }
  }
  return c
}

/** The process to run: overrides on the container's process, or `p` whole when `complete`. */
export function execProcess(base: OciProcess | undefined, p: ExecProcess, o: ExecOptions): OciProcess {
  if (!Array.isArray(p.args) || p.args.length === 0 || p.args.some((a) => typeof a !== 'string')) {
    throw new LxtsError('ERR_LXTS_USAGE', 'exec: process.args must be a non-empty list of strings', { field: 'process.args' })
  }
  const from: Partial<OciProcess> = o.complete === true ? {} : (base ?? {})
  const out: OciProcess = {
    ...from,
    ...p,
    user: p.user ?? from.user ?? { uid: 0, gid: 0 },
    cwd: p.cwd ?? from.cwd ?? '/',
    env: o.complete === true ? (p.env ?? []) : mergeEnv(from.env ?? [], p.env ?? []),
    terminal: o.terminal === true || p.terminal === true,
  }
  if (!out.cwd.startsWith('/')) throw new LxtsError('ERR_LXTS_USAGE', `exec: cwd ${JSON.stringify(out.cwd)} must be absolute`, { field: 'process.cwd' })
  const size = out.consoleSize
  if (size !== undefined && ![size.width, size.height].every((n) => Number.isInteger(n) && n >= 0 && n <= 0xffff)) {
    throw new LxtsError('ERR_LXTS_USAGE', 'exec: process.consoleSize needs integer width and height in 0…65535', { field: 'process.consoleSize' })
  }
  if (o.addCapabilities !== undefined && o.addCapabilities.length > 0) out.capabilities = addCapabilities(out.capabilities, o.addCapabilities)
  return out
}

/** Read an OCI process JSON file (`exec --process FILE`). */
export async function readProcessFile(file: string): Promise<ExecProcess> {
  let v: unknown
  try {
    v = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new LxtsError('ERR_LXTS_INVALID_CONFIG', `--process ${file}: ${(err as Error).message}`, { path: file, cause: err })
  }
  if (typeof v !== 'object' || v === null || !Array.isArray((v as Record<string, unknown>)['args'])) {
    throw new LxtsError('ERR_LXTS_INVALID_CONFIG', `--process ${file}: not an OCI process (no "args" list)`, { path: file, field: 'args' })
  }
  return v as ExecProcess
}

/** Start `p` in container `id` (which must be created or running). */
export async function execInContainer(store: StateStore, id: string, p: ExecProcess, o: ExecOptions = {}): Promise<ExecHandle> {
  const s = await store.read(id)
  const status = await liveStatus(store, s)
  if (status !== 'running' && status !== 'created') {
    throw new LxtsError('ERR_LXTS_INVALID_STATE', `cannot exec in container "${id}": it is ${status}`)
  }
  if (s.pid === undefined || s.startTime === undefined) throw new LxtsError('ERR_LXTS_STATE_CORRUPT', `container "${id}" has no pid`)
  // Read on this thread (a few KiB): readFile would start libuv's pool in a one-shot CLI.
  const config = JSON.parse(readFileSync(store.file(id, 'config.json'), 'utf8')) as { process?: OciProcess; linux?: { seccomp?: unknown; personality?: unknown; memoryPolicy?: unknown } }
  const process_ = execProcess(config.process, p, o)
  const preserveFds = o.preserveFds ?? 0
  if (!Number.isInteger(preserveFds) || preserveFds < 0) {
    throw new LxtsError('ERR_LXTS_USAGE', `preserveFds must be a non-negative integer, not ${preserveFds}`, { field: 'preserveFds' })
  }
  if (process_.terminal === true && o.consoleSocket === undefined && o.detach === true) {
    throw new LxtsError('ERR_LXTS_USAGE', 'exec: process.terminal needs a console socket (--console-socket) when lxts detaches', { field: 'process.terminal' })
  }
  if (process_.terminal !== true && o.consoleSocket !== undefined) {
    throw new LxtsError('ERR_LXTS_USAGE', 'exec: a console socket cannot be used without a terminal (process.terminal / -t)', { field: 'consoleSocket' })
  }
  // lxts owns the terminal: it listens in the state directory, the process sends the master there.
  const ownSocket = process_.terminal === true && o.consoleSocket === undefined ? join(store.dir(id), `exec-${nodeCrypto().randomBytes(6).toString('hex')}.sock`) : undefined
  const consoleSocket = o.consoleSocket === undefined ? ownSocket : resolve(o.consoleSocket)
  const plan = {
    mode: 'exec',
    id,
    pid: s.pid,
    startTime: s.startTime,
    cgroups: s.cgroups ?? [],
    process: process_,
    detach: o.detach === true,
    preserveFds,
    consoleSocket: consoleSocket ?? null,
    consoleSize: process_.terminal === true ? (process_.consoleSize ?? null) : null,
    // The container's seccomp profile applies to exec'd processes too (as runc); a notifying
    // one sends its fd to listenerPath with this state.
    seccomp: config.linux?.seccomp ?? null,
    ociState: hookState(s, status),
    // As runc: exec'd processes get the container's personality too.
    personality: config.linux?.personality ?? null,
    // Every process of the container has its NUMA memory policy.
    memoryPolicy: config.linux?.memoryPolicy ?? null,
  }
  const receiver: ConsoleReceiver | undefined = ownSocket === undefined ? undefined : await listenConsole(ownSocket)
  const [i, out, err] = stdioTriple(o.stdio) ?? ['inherit', 'inherit', 'inherit']
  // fd 3 is the control channel; this process's fds 3… become the helper's 4…
  const extra = Array.from({ length: preserveFds }, (_, k) => 3 + k)
  let child: HelperChild
  try {
    child = spawnWithPlan(await helperExecutable(), [i, out, err], false, extra, `${JSON.stringify(plan)}\n`)
  } catch (e) {
    receiver?.close()
    throw e
  }
  const control = child.stdio[3] as Socket | null | undefined
  if (control === null || control === undefined) throw new LxtsError('ERR_LXTS_HELPER', 'no control channel to lxts-helper')
  control.on('error', () => {})

  let started: ((v: { pid: number; startTime: number }) => void) | undefined
  let failed: ((e: LxtsError) => void) | undefined
  const startedP = new Promise<{ pid: number; startTime: number }>((res, rej) => ((started = res), (failed = rej)))
  let exitReport: ExitStatus | undefined
  let failure: LxtsError | undefined
  const closed = new Promise<void>((res) => child.on('close', () => res()))
  child.on('error', (e) => failed?.(new LxtsError('ERR_LXTS_HELPER', `cannot run lxts-helper: ${e.message}`, { cause: e })))
  onReports(
    control,
    (msg) => {
      if (msg['type'] === 'started' && Number.isInteger(msg['pid']) && Number.isInteger(msg['startTime'])) {
        started?.({ pid: msg['pid'] as number, startTime: msg['startTime'] as number })
      } else if (msg['type'] === 'error') {
        failure ??= fromNative({ ...msg }, 'ERR_LXTS_HELPER')
        failed?.(failure)
      } else if (msg['type'] === 'exited') {
        exitReport = exitOf(msg)
      }
    },
    (e) => (failure ??= e),
  )
  void closed.then(() => failed?.(failure ?? new LxtsError('ERR_LXTS_HELPER', 'lxts-helper ended before the process started')))
  let pid: number
  let startTime: number
  let terminal: Duplex | undefined
  try {
    ;({ pid, startTime } = await startedP)
    // The process sent the master before its execve: it is there or on its way.
    if (receiver !== undefined) {
      terminal = terminalStream(
        await receiver.master.catch((e: unknown) => {
          // Nobody could reach its terminal: end it (the helper's death kills it, PDEATHSIG).
          child.kill('SIGKILL')
          throw e
        }),
      )
    }
  } finally {
    receiver?.close()
  }
  return {
    pid,
    startTime,
    stdio: [child.stdin, child.stdout, child.stderr],
    terminal,
    async resize(cols, rows) {
      await resizeTerminal(terminal, cols, rows)
    },
    async wait() {
      if (o.detach !== true) {
        await closed
        if (exitReport === undefined) throw failure ?? new LxtsError('ERR_LXTS_HELPER', 'lxts-helper ended without reporting how the process exited')
        return exitReport
      }
      while ((await processInfo(pid))?.startTime === startTime) {
        if (await waitProcessExit(pid, startTime, 60_000)) break
      }
      return { exitCode: -1, signal: null }
    },
    kill(signal) {
      try {
        child.kill(signal)
      } catch {
        // the helper is gone: so is the process
      }
    },
  }
}
