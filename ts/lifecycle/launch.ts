/**
 * Starting `lxts-helper` without forking Node. libuv's spawn is a `fork`: it copies the page
 * tables of the whole Node process and blocks the event loop while it does (1.5-3 ms per
 * helper here, and as much again for the child to drop that copy at `execve`). The binding's
 * `launchHelper` uses `posix_spawn` instead (see crates/lxts-core/src/launch.rs). It serves
 * the plain shapes: stdio of `ignore`, `inherit` or an fd, no preserved fds; pipes and
 * streams still go through `child_process`, which builds them.
 */
import { EventEmitter } from 'node:events'
import { closeSync } from 'node:fs'
import type { Socket } from 'node:net'
import type { Readable, Writable } from 'node:stream'

import { fromNative, LxtsError } from '../errors.js'
import { net, os } from '../lazy-builtins.js'
import type { NativeBinding } from '../native.js'

/** The part of a `ChildProcess` that helper.ts uses, met by both ways of starting a helper. */
export interface HelperChild {
  readonly pid?: number | undefined
  readonly stdin: Writable | null
  readonly stdout: Readable | null
  readonly stderr: Readable | null
  /** `[stdin, stdout, stderr, control]`: Node's end of the helper's fd 3 at index 3. */
  readonly stdio: readonly unknown[]
  readonly exitCode: number | null
  readonly signalCode: NodeJS.Signals | null
  on(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this
  on(event: 'error', listener: (err: Error) => void): this
  ref(): void
  unref(): void
  kill(signal?: NodeJS.Signals | number): boolean
}

/** What `launchHelper` takes for one of fds 0-2: -1 for /dev/null, else the caller's fd. */
export function nativeStdio(spec: unknown, target: number): number | undefined {
  if (spec === 'ignore') return -1
  if (spec === 'inherit') return target
  // An fd of ours at 3 or above (a log file): never a low fd another target may replace first.
  if (typeof spec === 'number' && Number.isInteger(spec) && (spec >= 3 || spec === target)) return spec
  return undefined
}

const signalName = (n: number): NodeJS.Signals | null =>
  (Object.entries(os().constants.signals).find(([, v]) => v === n)?.[0] as NodeJS.Signals | undefined) ?? null

/**
 * A helper started by `posix_spawn`. Once its control socket closes (the helper's exit does
 * that) it is reaped through its pidfd (`waitid` WNOHANG; see #reap for a helper that still
 * runs: one whose socket was closed from this side may live on), then `close` is
 * emitted as for a ChildProcess and the pidfd closed, on the main thread, so `kill` (which
 * signals through the pidfd) can never reach a process that took the pid since.
 * A failed spawn throws the binding's error as ERR_LXTS_HELPER.
 */
export class LaunchedHelper extends EventEmitter implements HelperChild {
  readonly pid: number
  readonly stdin = null
  readonly stdout = null
  readonly stderr = null
  readonly stdio: readonly [null, null, null, Socket]
  /** How many bytes of the first message given to the constructor are already on the control channel. */
  readonly sent: number
  exitCode: number | null = null
  signalCode: NodeJS.Signals | null = null
  readonly #native: NativeBinding
  #pidfd: number
  #referenced = true
  #poll: NodeJS.Timeout | undefined

  constructor(native: NativeBinding, executable: string, stdio: number[], setsid: boolean, first?: Buffer) {
    super()
    const env = Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]))
    let l: ReturnType<NativeBinding['launchHelper']>
    try {
      l = native.launchHelper(executable, 'lxts-helper', env, stdio, setsid, first)
    } catch (err) {
      const e = fromNative(err, 'ERR_LXTS_HELPER')
      throw new LxtsError('ERR_LXTS_HELPER', `cannot run lxts-helper: ${e.message}`, { cause: e, ...(e.errno === undefined ? {} : { errno: e.errno }), path: executable })
    }
    this.#native = native
    this.pid = l.pid
    this.sent = l.sent
    this.#pidfd = l.pidfd
    const control = new (net().Socket)({ fd: l.control, readable: true, writable: true })
    this.stdio = [null, null, null, control]
    control.once('close', () => this.#reap(0))
  }

  /**
   * Reap if it has exited. The socket closes a moment before the exit completes, so a miss
   * first waits up to 50 ms on a pool thread (poll on the pidfd; not for an unref'd helper, which
   * must not hold the event loop); a helper still running then (its socket was closed from this
   * side) is looked at again later, backing off to once a second.
   */
  #reap(attempt: number): void {
    this.#poll = undefined
    let ended: { code?: number | null; signal?: number | null } | null
    try {
      ended = this.#native.tryReapHelper(this.#pidfd)
    } catch (err) {
      this.#failed(err)
      return
    }
    if (ended !== null) {
      this.#done(ended)
    } else if (attempt === 0 && this.#referenced) {
      this.#native.waitHelper(this.#pidfd, 50).then(
        (e) => (e === null ? this.#reap(1) : this.#done(e)),
        (err: unknown) => this.#failed(err),
      )
    } else {
      this.#poll = setTimeout(() => this.#reap(attempt + 1), Math.min(10 * 2 ** attempt, 1000))
      if (!this.#referenced) this.#poll.unref()
    }
  }

  #done(ended: { code?: number | null; signal?: number | null }): void {
    this.#ended(ended.code ?? null, typeof ended.signal === 'number' ? signalName(ended.signal) : null)
  }

  #failed(err: unknown): void {
    this.#ended(null, null)
    this.emit('error', fromNative(err, 'ERR_LXTS_HELPER'))
  }

  #ended(code: number | null, signal: NodeJS.Signals | null): void {
    this.exitCode = code
    this.signalCode = signal
    closeSync(this.#pidfd)
    this.#pidfd = -1
    this.emit('close', code, signal)
  }

  /** Keep (or stop keeping) Node's event loop alive for this helper: its control socket, or the reap poll. */
  ref(): void {
    this.#referenced = true
    this.stdio[3].ref()
    this.#poll?.ref()
  }

  unref(): void {
    this.#referenced = false
    this.stdio[3].unref()
    this.#poll?.unref()
  }

  /** Signal the helper through its pidfd; false once it has exited. */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.#pidfd < 0) return false
    const n = typeof signal === 'number' ? signal : os().constants.signals[signal]
    try {
      return this.#native.signalHelper(this.#pidfd, n)
    } catch {
      return false
    }
  }
}
