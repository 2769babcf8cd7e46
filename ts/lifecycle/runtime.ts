/** A runtime root (`--root`): create, find and list containers, or run one to completion. */
import { closeSync, openSync } from 'node:fs'
import { join, resolve } from 'node:path'

import { buildPlan, wantsLimits, type Plan } from '../config/plan.js'
import { parseConfig } from '../config/parse.js'
import type { OciConfig } from '../config/types.js'
import { assertValidConfig } from '../config/validate.js'
import { LxtsError, errnoCode } from '../errors.js'
import { cgroupRemove, processInfo, releaseRootMount } from '../native.js'
import { Container, killAndWait } from './container.js'
import { hookState, runHooks } from './hooks.js'
import { helperExecutable, startHelper, stdioTriple, type CreatedReport, type Helper, type StdioOption } from './helper.js'
import { liveState } from './live-status.js'
import { CONSOLE_SOCKET, listenConsole, terminalStream, type ConsoleReceiver } from './terminal.js'
import { withLock } from './lock.js'
import { testPause } from './test-pause.js'
import { StateStore, assertValidId, defaultRoot, isRootless, writeFileAtomic } from './state-store.js'
import type { ContainerState, ExitStatus, StoredState } from './types.js'
import { fsPromises, os } from '../lazy-builtins.js'


/** Options of a {@link Runtime}. */
export interface RuntimeOptions {
  /** State root, default `/run/lxts`. */
  root?: string | undefined
}

/** Options of {@link Runtime.create} and {@link Runtime.run}. */
export interface CreateOptions {
  /** Bundle directory (default: the current directory). Its `config.json` is read unless `config` is given. */
  bundle?: string | undefined
  /** The config to use instead of `<bundle>/config.json`. */
  config?: OciConfig | undefined
  /** Write the init's pid here (atomically, no trailing newline). */
  pidFile?: string | undefined
  /** Unix socket receiving the pty master when `process.terminal` is true. */
  consoleSocket?: string | undefined
  /**
   * lxts owns the terminal: `process.terminal` is set, lxts receives the pty master itself
   * and exposes it as `Container.terminal` (with `Container.resize`). Not with `consoleSocket`.
   */
  terminal?: boolean | undefined
  /** Use chroot-like `MS_MOVE` instead of `pivot_root`. */
  noPivot?: boolean | undefined
  /** Accepted for runc compatibility; lxts never creates a session keyring. */
  noNewKeyring?: boolean | undefined
  /** Pass fds 3 … 3+N-1 of this process to the container. */
  preserveFds?: number | undefined
  /**
   * Socket activation, as runc: fds 3 … 3+N-1 of this process go to the container first (the
   * `preserveFds` ones follow them) and `LISTEN_FDS=N`, `LISTEN_PID=1` are added to its env.
   */
  listenFds?: number | undefined
  /** Keep a helper as the init's parent to record how it exits (default true; runc-style `create` passes false). */
  monitor?: boolean | undefined
  /** The container's stdio (default: this process's own), or `'ignore'`/`'inherit'`/`'pipe'` for all three. */
  stdio?: StdioOption | undefined
  /** PID 1 is a tiny init (reaps zombies, forwards signals) and the process its child (`--init`). */
  init?: boolean | undefined
  /** With `init`: forward signals to the process's group instead of the process. */
  initForwardToGroup?: boolean | undefined
  /** Monitor mode: the monitor deletes the container once it exited (`run -d --rm`). */
  removeOnExit?: boolean | undefined
  /** Write the container's stdout and stderr to `<root>/<id>/log` (stdin: /dev/null); replaces `stdio`. */
  log?: boolean | undefined
}

/** Signals `run` forwards to the container while it runs in the foreground. */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']

/** The name `os.userInfo()` gave for the effective uid last asked about (it reads the passwd database). */
let ownerOf: { uid: number | undefined; name: string } | undefined

/**
 * `state.json`'s `owner`: the user creating the container, looked up once per effective uid
 * (a failed lookup, perhaps passing, is not kept: the uid stands in that once).
 */
function owner(): string {
  const uid = process.geteuid?.()
  if (ownerOf !== undefined && ownerOf.uid === uid) return ownerOf.name
  try {
    ownerOf = { uid, name: os().userInfo().username }
    return ownerOf.name
  } catch {
    return String(uid ?? '')
  }
}

/** `config` with `LISTEN_FDS=n` and `LISTEN_PID=1` in `process.env` (replacing any given), not mutated. */
function withListenEnv(config: OciConfig, n: number): OciConfig {
  const env = (config.process?.env ?? []).filter((e) => !e.startsWith('LISTEN_FDS=') && !e.startsWith('LISTEN_PID='))
  return { ...config, process: { ...config.process, env: [...env, `LISTEN_FDS=${n}`, 'LISTEN_PID=1'] } } as OciConfig
}

/** A state root holding containers. */
export class Runtime {
  /** Absolute state root. */
  readonly root: string
  readonly #store: StateStore

  constructor(o: RuntimeOptions = {}) {
    this.root = resolve(o.root ?? defaultRoot())
    this.#store = new StateStore(this.root)
  }

  /**
   * Create a container: validate, claim `<root>/<id>`, spawn the helper, record `created`.
   * The process waits on `exec.fifo` until {@link Container.start}. On failure nothing is
   * left behind (no process, cgroup or state directory).
   */
  async create(id: string, o: CreateOptions = {}): Promise<Container> {
    return (await this.#create(id, o, false)).container
  }

  /** `create`; with `startNow` (run()), a monitor also starts the process when the config has no prestart/poststart hooks. */
  async #create(id: string, o: CreateOptions, startNow: boolean): Promise<{ container: Container; monitor: Helper | undefined }> {
    assertValidId(id)
    const bundle = resolve(o.bundle ?? process.cwd())
    const owned = o.terminal === true
    if (owned && o.consoleSocket !== undefined) {
      throw new LxtsError('ERR_LXTS_USAGE', 'terminal: true (lxts owns the terminal) cannot be combined with consoleSocket', { field: 'terminal' })
    }
    const given = o.config ?? (await parseConfig(bundle))
    const raw = owned && given.process !== undefined ? { ...given, process: { ...given.process, terminal: true } } : given
    const ownSocket = owned ? join(this.stateDir(id), CONSOLE_SOCKET) : undefined
    const valid = assertValidConfig(raw, { consoleSocket: o.consoleSocket ?? ownSocket })
    let receiver: ConsoleReceiver | undefined
    const listenFds = o.listenFds ?? 0
    if (!Number.isInteger(listenFds) || listenFds < 0) {
      throw new LxtsError('ERR_LXTS_USAGE', `listenFds must be a non-negative integer, not ${listenFds}`, { field: 'listenFds' })
    }
    const config = listenFds === 0 || valid.process === undefined ? valid : withListenEnv(valid, listenFds)
    const stdio = stdioTriple(o.stdio)
    const preserveFds = listenFds + (o.preserveFds ?? 0)
    if (!Number.isInteger(preserveFds) || preserveFds < 0) {
      throw new LxtsError('ERR_LXTS_USAGE', `preserveFds must be a non-negative integer, not ${o.preserveFds}`, { field: 'preserveFds' })
    }
    const noCgroup = isRootless() && !wantsLimits(config)
    if (noCgroup && !config.linux?.namespaces?.some((n) => n.type === 'pid' && !n.path)) {
      // Without a cgroup, only the death of a pid namespace's init takes every process with it.
      throw new LxtsError('ERR_LXTS_UNSUPPORTED', 'rootless, a container has no cgroup: it needs a new pid namespace (linux.namespaces type "pid"), the only way its processes are all found and ended', { field: 'linux.namespaces' })
    }
    const stateDir = await this.#store.claim(id)
    let helper: Helper | undefined
    let report: CreatedReport | undefined
    try {
      return await withLock(this.#store, id, async () => {
        await this.#sandboxRoot(id, bundle, config)
        const plan: Plan = buildPlan(config, {
          mode: o.monitor === false ? 'create' : 'monitor',
          id,
          bundle,
          stateDir,
          noPivot: o.noPivot,
          preserveFds,
          init: o.init,
          initForwardToGroup: o.initForwardToGroup,
          removeOnExit: o.removeOnExit,
          // Node runs prestart and poststart hooks between create and start: those keep the fifo round trip.
          startOnCreate: startNow && o.monitor !== false && !(config.hooks?.prestart?.length ?? 0) && !(config.hooks?.poststart?.length ?? 0),
          consoleSocket: o.consoleSocket === undefined ? ownSocket : resolve(o.consoleSocket),
          noCgroup,
        })
        const base: StoredState = {
          ociVersion: config.ociVersion,
          id,
          status: 'creating',
          bundle,
          rootfs: plan.config.root?.path ?? '',
          created: new Date().toISOString(),
          owner: owner(),
          creatorPid: process.pid,
        }
        if (plan.cgroup !== null) base.cgroupPath = plan.cgroup.path
        if (config.annotations !== undefined) base.annotations = config.annotations
        await this.#store.write(base)
        testPause('create:claimed')
        await this.#store.writeConfig(id, plan.config)
        if (ownSocket !== undefined) receiver = await listenConsole(ownSocket)
        const executable = await helperExecutable()
        // The container appends to the log itself: no process has to relay its output.
        const logFd = o.log === true ? openSync(join(stateDir, 'log'), 'a', 0o600) : undefined
        try {
          // createRuntime hooks run while the init is paused before pivot_root, so the
          // createContainer hooks it runs next come after them (runtime-spec order).
          const onHooks = (pid: number): Promise<void> => runHooks('createRuntime', config.hooks, hookState({ ...base, pid }, 'creating'))
          helper = startHelper(executable, plan, { stdio: logFd === undefined ? stdio : ['ignore', logFd, logFd], onHooks })
        } finally {
          if (logFd !== undefined) closeSync(logFd)
        }
        testPause('create:spawned')
        report = await helper.created
        // No cgroup to find its processes by: recorded before anything else, for a delete of a
        // state that never got its pid, or an unreadable one (recover.ts).
        if (plan.cgroup === null) await writeFileAtomic(this.#store.file(id, 'init'), `${report.pid} ${report.startTime}`, 0o600)
        const master = receiver === undefined ? undefined : await receiver.master
        receiver?.close()
        const created: StoredState = { ...base, status: 'created', pid: report.pid, startTime: report.startTime, cgroups: report.cgroups, createdCgroups: report.createdCgroups }
        delete created.creatorPid
        const monitorPid = plan.mode === 'monitor' ? helper.child.pid : undefined
        const monitor = monitorPid === undefined ? null : await processInfo(monitorPid)
        if (monitorPid !== undefined && monitor !== null) {
          created.monitorPid = monitorPid
          created.monitorStartTime = monitor.startTime
        }
        await this.#store.write(created)
        testPause('create:recorded')
        if (o.pidFile !== undefined) await writeFileAtomic(resolve(o.pidFile), String(report.pid), 0o644)
        if (plan.mode === 'monitor') helper.unref()
        const monitorHelper = plan.mode === 'monitor' ? helper : undefined
        const container = new Container(this.#store, id, monitorHelper)
        if (master !== undefined) container.terminal = terminalStream(master)
        return { container, monitor: monitorHelper }
      })
    } catch (err) {
      receiver?.close()
      await this.#undoCreate(id, helper, report)
      throw err
    }
  }

  /** The root of a sandbox config (`<root>/<id>/rootfs`) is made here, inside the claimed directory. */
  async #sandboxRoot(id: string, bundle: string, config: OciConfig): Promise<void> {
    const root = config.root?.path
    const mine = this.#store.file(id, 'rootfs')
    if (root === undefined || resolve(bundle, root) !== mine) return
    await fsPromises().mkdir(mine, { mode: 0o755 }).catch((err: unknown) => {
      if (errnoCode(err) !== 'EEXIST') throw err
    })
  }

  async #undoCreate(id: string, helper: Helper | undefined, report: CreatedReport | undefined): Promise<void> {
    try {
      if (report !== undefined) await killAndWait(report.pid, report.startTime, `container "${id}" init`)
      if (helper !== undefined) await helper.exited.catch(() => {})
      // Without a mount namespace: the rootfs mount the helper recorded, if it could not detach it.
      await releaseRootMount(this.#store.dir(id)).catch(() => {})
      if (report !== undefined && report.createdCgroups.length > 0) await cgroupRemove(report.createdCgroups)
    } catch {
      // Best effort: the state directory below is still removed so the id is free again.
    }
    await this.#store.remove(id).catch(() => {})
  }

  /**
   * An existing container (ERR_LXTS_NOT_FOUND otherwise). One whose `state.json` is unreadable
   * is still returned: its methods report ERR_LXTS_STATE_CORRUPT, but `delete({ force: true })`
   * recovers and removes it.
   */
  async get(id: string): Promise<Container> {
    assertValidId(id)
    await this.#store.read(id).catch((err: unknown) => {
      if (!(err instanceof LxtsError && err.code === 'ERR_LXTS_STATE_CORRUPT')) throw err
    })
    return new Container(this.#store, id)
  }

  /** The live state of every container under the root, by id. */
  async list(): Promise<ContainerState[]> {
    const out: ContainerState[] = []
    for (const s of await this.#store.list()) out.push(await liveState(this.#store, s))
    return out
  }

  /**
   * Create (with a monitor), start, wait and delete: the foreground `lxts run`. While it
   * runs, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to this process are
   * forwarded to the container instead of ending this process.
   */
  async run(id: string, o: CreateOptions = {}): Promise<ExitStatus> {
    const { container, monitor } = await this.#create(id, { ...o, monitor: true }, true)
    // Through the monitor's own handle (its pidfd, or libuv's), never its bare pid: once it is
    // reaped that pid may name another process.
    const forward = (sig: NodeJS.Signals): void => {
      monitor?.child.kill(sig) // false once the monitor is gone: the container has ended
    }
    for (const sig of FORWARDED) process.on(sig, forward)
    try {
      if (monitor?.startsProcess === true) await this.#running(monitor)
      else await container.start()
      return await container.wait()
    } finally {
      for (const sig of FORWARDED) process.off(sig, forward)
      await container.delete({ force: true }).catch(async (err: unknown) => {
        if (!(err instanceof LxtsError && err.code === 'ERR_LXTS_NOT_FOUND')) throw err
      })
    }
  }

  /**
   * The monitor started the process itself (`startOnCreate`): wait for its `running` report (or
   * the start's error, which the init wrote to `exec.fifo`). `state.json` keeps `created`: with
   * `exec.fifo` gone and the init alive, every reader's live status is `running` already
   * (live-status.ts), so a write under the lock would tell nobody anything.
   */
  async #running(helper: Helper): Promise<void> {
    // create() let the monitor go (unref); keep the event loop alive for its report.
    helper.ref()
    try {
      await helper.running
    } finally {
      helper.unref()
    }
  }

  /** Where `<root>/<id>` is (for tools and tests). */
  stateDir(id: string): string {
    assertValidId(id)
    return join(this.root, id)
  }
}

