/** One container: start, kill, delete, wait and its live state. */
import { constants, unlinkSync } from 'node:fs'
import { posix } from 'node:path'
import type { Duplex, Readable, Writable } from 'node:stream'

import { cgroupPath } from '../config/plan.js'
import { LxtsError, errnoCode, fromNative } from '../errors.js'
import { cgroupHost, cgroupPids, cgroupRemove, processInfo, readToEnd, releaseRootMount, signalProcess, waitProcessExit } from '../native.js'
import { signalNumber } from '../signals.js'
import { execInContainer, type ExecHandle, type ExecOptions, type ExecProcess } from './exec.js'
import type { Helper } from './helper.js'
import { readLog, type LogOptions } from './logs.js'
import { hookState, loadHooks, loadSaved, runHooks, type SavedConfig } from './hooks.js'
import { resizeTerminal } from './terminal.js'
import { events, stats, withOomKilled, type ContainerEvent, type EventsOptions, type Stats } from './events.js'
import { isAlive, liveState, liveStatus } from './live-status.js'
import { withLock } from './lock.js'
import { testPause } from './test-pause.js'
import { recordedInit, recoverDelete } from './recover.js'
import { isRootless, type StateStore } from './state-store.js'
import { containerPids, killAll, pauseContainer, pidNamespaceMembers, resumeContainer } from './pause.js'
import { assertCan } from './status.js'
import type { ContainerState, ExitStatus, StoredState } from './types.js'
import { updateContainer } from './update.js'
import type { OciResources } from '../config/types.js'
import { fsPromises } from '../lazy-builtins.js'

/** How long `delete` waits for a killed init to die. */
const KILL_TIMEOUT_MS = 10_000
/** How often `start` checks that the init is still alive while waiting on `exec.fifo`. */
const FIFO_POLL_MS = 100

const SIGKILL = 9

/** Kill (pid, startTime) with SIGKILL and wait for it to be gone. */
export async function killAndWait(pid: number, startTime: number | undefined, what: string): Promise<void> {
  const info = await processInfo(pid)
  if (info === null || (startTime !== undefined && info.startTime !== startTime)) return
  try {
    await signalProcess(pid, info.startTime, SIGKILL)
  } catch (err) {
    if (!(err instanceof LxtsError && err.code === 'ERR_LXTS_NO_SUCH_PROCESS')) throw err
  }
  if (!(await waitProcessExit(pid, info.startTime, KILL_TIMEOUT_MS))) {
    throw new LxtsError('ERR_LXTS_TIMEOUT', `${what} (pid ${pid}) did not die within ${KILL_TIMEOUT_MS} ms of SIGKILL`)
  }
}

/**
 * The cgroup directories a container whose creation was interrupted may have: its planned
 * path under every mounted hierarchy.
 */
export async function plannedCgroups(path: string | undefined): Promise<string[]> {
  if (path === undefined) return []
  const host = await cgroupHost()
  const dirs = new Set<string>()
  for (const h of host.hierarchies) {
    const rel = posix.relative(h.root, path)
    // Only strictly below the hierarchy's visible root: never the root itself, never outside it.
    if (rel !== '' && !rel.startsWith('..')) dirs.add(posix.join(h.mountPoint, rel))
  }
  return [...dirs]
}

/**
 * What delete removes: the groups this container's create made, plus, for the default path
 * `/lxts/<id>`, lxts's own `/lxts` parent. Many containers share that parent and only the first
 * one's create made it; listed as a parent of `dirs`, it goes only once it is empty.
 */
export function removableCgroups(id: string, path: string | undefined, dirs: string[]): string[] {
  if (path !== cgroupPath(undefined, id)) return dirs
  const parents = dirs.map((d) => posix.dirname(d)).filter((d) => !dirs.includes(d))
  return [...dirs, ...new Set(parents)]
}

/** Signal every pid in `cgroups` (skipping ones that vanish). */
async function signalCgroup(cgroups: string[], signal: number): Promise<number> {
  let n = 0
  for (const pid of await cgroupPids(cgroups)) {
    const info = await processInfo(pid)
    if (info === null) continue
    try {
      await signalProcess(pid, info.startTime, signal)
      n++
    } catch (err) {
      if (!(err instanceof LxtsError && err.code === 'ERR_LXTS_NO_SUCH_PROCESS')) throw err
    }
  }
  return n
}

/**
 * Read `exec.fifo` to EOF, which releases the init. While the open blocks, poll the init:
 * if it dies first, open the fifo for writing ourselves so the blocked reader sees EOF.
 */
export async function releaseInit(fifo: string, pid: number, startTime: number | undefined): Promise<Buffer> {
  let done = false
  // The poll's sleep ends early once the read is done, so start does not wait out a poll period.
  let wake: (() => void) | undefined
  let timer: NodeJS.Timeout | undefined
  // One pool job (open, read to EOF, close) rather than readFile's hop per step.
  const read = readToEnd(fifo).finally(() => {
    done = true
    clearTimeout(timer)
    wake?.()
  })
  const watch = (async () => {
    while (!done) {
      await new Promise<void>((r) => {
        wake = r
        timer = setTimeout(r, FIFO_POLL_MS)
      })
      if (done || (await isAlive(pid, startTime))) continue
      const fh = await fsPromises().open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined)
      await fh?.close()
    }
  })()
  try {
    return await read
  } finally {
    await watch.catch(() => {})
  }
}

/** What `exec.fifo` held: one 0 byte is success, else the init's JSON error line. */
export function checkFifo(id: string, data: Buffer): void {
  if (data.length === 1 && data[0] === 0) return
  if (data.length === 0) throw new LxtsError('ERR_LXTS_EXEC_FAILED', `container "${id}": the init exited before starting the process`)
  const text = data.toString('utf8').replace(/^\0/, '').trim()
  let report: unknown
  try {
    report = JSON.parse(text.split('\n').pop() ?? '')
  } catch {
    throw new LxtsError('ERR_LXTS_PROTOCOL', `container "${id}": unexpected data in exec.fifo: ${JSON.stringify(text.slice(0, 200))}`)
  }
  throw fromNative(report, 'ERR_LXTS_EXEC_FAILED')
}

/** A container under a runtime root. Get one from `Runtime.create` or `Runtime.get`. */
export class Container {
  /** The container id. */
  readonly id: string
  readonly #store: StateStore
  readonly #helper: Helper | undefined

  /** @internal Use `Runtime.create` / `Runtime.get`. */
  constructor(store: StateStore, id: string, helper?: Helper) {
    this.id = id
    this.#store = store
    this.#helper = helper
  }

  /**
   * The container's stdio streams when this object created it with `stdio: 'pipe'` entries
   * (stdin writable, stdout/stderr readable); null for the others.
   */
  get stdio(): [Writable | null, Readable | null, Readable | null] {
    const c = this.#helper?.child
    return [c?.stdin ?? null, c?.stdout ?? null, c?.stderr ?? null]
  }

  /** The pty master when lxts owns the container's terminal (`CreateOptions.terminal: true`). */
  terminal: Duplex | undefined = undefined

  /** Set the size of the container's terminal (TIOCSWINSZ; lxts-owned terminals only, else a no-op). */
  async resize(cols: number, rows: number): Promise<void> {
    await resizeTerminal(this.terminal, cols, rows)
  }

  /** Freeze every process of the running container (cgroup freezer); `state()` then says `paused`. */
  async pause(): Promise<void> {
    await pauseContainer(this.#store, this.id)
  }

  /** Thaw a paused container. */
  async resume(): Promise<void> {
    await resumeContainer(this.#store, this.id)
  }

  /** Every pid in the container's cgroups (host pid namespace), sorted. */
  async pids(): Promise<number[]> {
    return containerPids(await this.#store.read(this.id))
  }

  /** The OCI state with the live status. */
  async state(): Promise<ContainerState> {
    const s = await this.#store.read(this.id)
    const st = await liveState(this.#store, s)
    if (st.exitStatus !== undefined) st.exitStatus = await withOomKilled(st.exitStatus, s.cgroups)
    return st
  }

  /** Apply new `linux.resources` to the live container (merged into its saved config); returns warnings. */
  async update(resources: OciResources): Promise<string[]> {
    return updateContainer(this.#store, this.id, resources)
  }

  /** Current resource usage (runc's `events --stats` data). */
  async stats(): Promise<Stats> {
    return stats(this.#store, this.id)
  }

  /** Stats every `interval` ms plus OOM events, until the container stops. */
  events(o: EventsOptions = {}): AsyncIterable<ContainerEvent> {
    return events(this.#store, this.id, o)
  }

  /** Run the container's process: release the init waiting on `exec.fifo`. */
  async start(): Promise<void> {
    let prestartFailed = false
    try {
      await this.#start(() => (prestartFailed = true))
    } catch (err) {
      // A failing prestart or startContainer hook leaves nothing: the container is killed and removed.
      if (prestartFailed) await this.delete({ force: true }).catch(() => {})
      throw err
    }
  }

  async #start(onPrestartFailure: () => void): Promise<void> {
    await withLock(this.#store, this.id, async () => {
      const s = await this.#store.read(this.id)
      assertCan('start', await liveStatus(this.#store, s), this.id)
      const hooks = await loadHooks(this.#store.file(this.id, 'config.json'))
      await runHooks('prestart', hooks, hookState(s, 'created')).catch((err: unknown) => {
        onPrestartFailure()
        throw err
      })
      const fifo = this.#store.file(this.id, 'exec.fifo')
      testPause('start:opening')
      const data = await releaseInit(fifo, s.pid ?? 0, s.startTime)
      try {
        unlinkSync(fifo) // sync, as the state store: no thread-pool hop for one unlink
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err
      }
      try {
        checkFifo(this.id, data)
      } catch (err) {
        // A failing startContainer hook (run by the init) is treated as a failing prestart one.
        if (err instanceof LxtsError && err.code === 'ERR_LXTS_HOOK') onPrestartFailure()
        throw err
      }
      await this.#store.write({ ...s, status: 'running' })
      await runHooks('poststart', hooks, hookState(s, 'running'))
    })
  }

  /**
   * Run one more process in the (created or running) container: `process` overrides the
   * container's own process settings (or, with `complete`, is the whole OCI process).
   * Resolves once it exec'd; ERR_LXTS_INVALID_STATE when the container is stopped.
   */
  async exec(process: ExecProcess, o: ExecOptions = {}): Promise<ExecHandle> {
    return execInContainer(this.#store, this.id, process, o)
  }

  /** The output of a container created with `log` (`run -d`); `follow` reads on until it stops. */
  logs(o: LogOptions = {}): AsyncGenerator<Buffer> {
    return readLog(this.#store, this.id, o)
  }

  /** Send a signal (name or number, default TERM) to the init, or with `all` to every process of the container. */
  async kill(signal: string | number = 'TERM', o: { all?: boolean } = {}): Promise<void> {
    const sig = signalNumber(signal)
    const s = await this.#store.read(this.id)
    const status = await liveStatus(this.#store, s)
    if (o.all === true && status !== 'creating') {
      // Every process, the init included: cgroup.kill, or freeze + one pidfd per pid + thaw.
      await killAll(s.cgroups ?? [], sig)
      if (status === 'stopped' || (s.cgroups ?? []).length > 0) return
      // No cgroups (rootless): the processes of the init's own pid namespace, each through a
      // pidfd with the start time read now; the init last, below.
      if (s.pid !== undefined) {
        for (const pid of pidNamespaceMembers(s.pid).filter((p) => p !== s.pid)) {
          const info = await processInfo(pid)
          if (info !== null) await signalProcess(pid, info.startTime, sig).catch(() => undefined)
        }
      }
    }
    assertCan('kill', status, this.id)
    if (s.pid === undefined || s.startTime === undefined) throw new LxtsError('ERR_LXTS_STATE_CORRUPT', `container "${this.id}" has no pid`)
    await signalProcess(s.pid, s.startTime, sig)
  }

  /**
   * Remove the container: its cgroups and state directory. Only a stopped container can be
   * deleted plainly; a created, running or paused one needs `force` (SIGKILL, then wait for
   * it to die). Poststop hooks run once it is stopped, before the state goes.
   */
  async delete(o: { force?: boolean } = {}): Promise<void> {
    await withLock(this.#store, this.id, async () => {
      const s = await this.#store.read(this.id).catch(async (err: unknown) => {
        // An unreadable state.json: force recovers the cgroups from the saved config (recover.ts).
        if (!(o.force === true && err instanceof LxtsError && err.code === 'ERR_LXTS_STATE_CORRUPT')) throw err
        await recoverDelete(this.#store, this.id)
        return undefined
      })
      if (s === undefined) return
      const status = await liveStatus(this.#store, s)
      assertCan(o.force === true ? 'forceDelete' : 'delete', status, this.id)
      // A frozen init never dies of SIGKILL: kill everything, then thaw (killAll does both).
      if (status === 'paused') await killAll(s.cgroups ?? [], SIGKILL)
      if (s.pid !== undefined && (status === 'created' || status === 'running' || status === 'paused' || status === 'creating')) {
        await killAndWait(s.pid, s.startTime, `container "${this.id}" init`)
      } else if (s.pid === undefined && isRootless()) {
        // A create cut short before the state had the pid, without cgroups (rootless): the
        // init it recorded, checked by its start time.
        const init = await recordedInit(this.#store.dir(this.id))
        if (init !== undefined) await killAndWait(init.pid, init.startTime, `container "${this.id}" init`)
      }
      const cgroups = s.cgroups ?? (await plannedCgroups(s.cgroupPath))
      // An unreadable saved config does not stop the cleanup (it sweeps); its error is raised
      // where its poststop hooks would run, after it, as it always was.
      let saved: SavedConfig | undefined
      let unreadable: unknown
      try {
        saved = await loadSaved(this.#store.file(this.id, 'config.json'))
      } catch (err) {
        unreadable = err
      }
      // A known init is dead here. With a pid namespace of its own, the kernel killed and
      // reaped every other process of it before the init's exit completed (as runc relies on);
      // without one, or with no init recorded (a create that never finished), processes may
      // remain in its cgroups.
      const sweep = s.pid === undefined || saved?.ownPidNamespace !== true
      if (sweep && cgroups.length > 0 && (await signalCgroup(cgroups, SIGKILL)) > 0) {
        // Without a pid namespace the init's death leaves its descendants: give them a moment.
        await new Promise((r) => setTimeout(r, 100))
      }
      await this.#waitMonitor(s, 2000)
      testPause('delete:killed')
      // Without a mount namespace the rootfs bind, and every mount below it, is in the host's.
      await releaseRootMount(this.#store.dir(this.id)).catch((err: unknown) => {
        if (o.force !== true) throw err
        process.emitWarning((err as Error).message, { code: 'ERR_LXTS_MOUNT' })
      })
      // Only what this container's create made: a cgroup that existed before stays.
      const removable = removableCgroups(this.id, s.cgroupPath, s.createdCgroups ?? cgroups)
      if (removable.length > 0) await cgroupRemove(removable)
      if (unreadable !== undefined) throw unreadable
      await runHooks('poststop', saved?.hooks, hookState(s, 'stopped'))
      await this.#store.remove(this.id)
    })
  }

  /**
   * Wait for the container's process to end. A container created by this object in
   * monitor mode gets the monitor's report; otherwise the init is polled and `exit.json`
   * read. Without `exit.json` (created in `create` mode, so no monitor saw the exit) the
   * result is `{ exitCode: -1, signal: null }`. Like child_process's `'exit'`, this can
   * come before the last output on piped `stdio` is read: wait for those streams' `'end'`.
   */
  async wait(): Promise<ExitStatus> {
    const exit = await this.#waitExit()
    const s = await this.#store.read(this.id).catch(() => undefined)
    return withOomKilled(exit, s?.cgroups)
  }

  async #waitExit(): Promise<ExitStatus> {
    const helper = this.#helper
    if (helper !== undefined) {
      helper.ref()
      try {
        const reported = await helper.exited
        // exit.json also says whether the OOM killer ended it.
        return (await this.#store.readExit(this.id).catch(() => undefined)) ?? reported
      } catch (err) {
        const exit = await this.#store.readExit(this.id).catch(() => undefined)
        if (exit !== undefined) return exit
        throw err
      } finally {
        helper.unref()
      }
    }
    const s = await this.#store.read(this.id)
    if (s.pid !== undefined) {
      while ((await liveStatus(this.#store, s)) !== 'stopped') {
        const info = await processInfo(s.pid)
        if (info === null) break
        await waitProcessExit(s.pid, info.startTime, 60_000)
      }
    }
    await this.#waitMonitor(s, 5000)
    return (await this.#store.readExit(this.id)) ?? { exitCode: -1, signal: null }
  }

  /** Give a monitor helper time to reap the init and write `exit.json`. */
  async #waitMonitor(s: StoredState, ms: number): Promise<void> {
    if (s.monitorPid === undefined || s.monitorStartTime === undefined) return
    const helper = this.#helper
    if (helper !== undefined) {
      helper.ref()
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([helper.exited.catch(() => {}), new Promise((r) => (timer = setTimeout(r, ms)))])
      } finally {
        clearTimeout(timer)
        helper.unref()
      }
      return
    }
    await waitProcessExit(s.monitorPid, s.monitorStartTime, ms).catch(() => false)
  }
}
