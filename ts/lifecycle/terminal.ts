/**
 * Terminals owned by lxts (`CreateOptions.terminal: true`, `lxts run -t`): lxts itself is
 * the console socket. It listens on `<stateDir>/console.sock`; the helper connects to it
 * and the container init sends the pty master there with `SCM_RIGHTS` (see
 * docs/ARCHITECTURE.md, "Terminals"). Node cannot receive fds, so accept + `recvmsg` run in
 * the native binding on a libuv pool thread.
 */
import { closeSync, rmSync } from 'node:fs'
import type { Duplex } from 'node:stream'

import { fromNative } from '../errors.js'
import { loadNative, type NativeBinding } from '../native.js'
import { tty } from '../lazy-builtins.js'

/** Name of the socket lxts listens on inside the container's state directory. */
export const CONSOLE_SOCKET = 'console.sock'

/** How long create waits for the init to send the master. */
const RECEIVE_TIMEOUT_MS = 30_000

/** The binding's terminal exports (crates/lxts-node/src/tty.rs). */
interface TtyNative {
  consoleListen(path: string): number
  consoleReceive(fd: number, timeoutMs: number): Promise<number>
  consoleCancel(fd: number): void
  ttyGetSize(fd: number): { cols: number; rows: number } | null
  ttySetSize(fd: number, cols: number, rows: number): void
}

async function native(): Promise<TtyNative> {
  return (await loadNative()) as NativeBinding & TtyNative
}

/** A listening console socket waiting for one pty master. */
export interface ConsoleReceiver {
  /** The socket path to put in the plan. */
  readonly path: string
  /** The master fd, once the init has sent it. */
  readonly master: Promise<number>
  /** Stop waiting, close and unlink the socket (idempotent). */
  close(): void
}

/** Listen on `path` and start waiting for the master. */
export async function listenConsole(path: string): Promise<ConsoleReceiver> {
  const n = await native()
  let fd: number
  try {
    fd = n.consoleListen(path)
  } catch (err) {
    throw fromNative(err)
  }
  let closed = false
  let settled = false
  const master = n
    .consoleReceive(fd, RECEIVE_TIMEOUT_MS)
    .catch((err: unknown) => {
      throw fromNative(err)
    })
    .finally(() => {
      settled = true
      if (closed) closeSync(fd)
    })
  master.catch(() => {})
  return {
    path,
    master,
    close() {
      if (closed) return
      closed = true
      rmSync(path, { force: true })
      // The pool thread still polls the fd: wake it, and close once it has let go.
      if (settled) closeSync(fd)
      else n.consoleCancel(fd)
    },
  }
}

const fds = new WeakMap<Duplex, number>()

/**
 * The pty master as a Node stream: write to reach the container's terminal, read its
 * output. It closes (an EIO read error is swallowed) once the last process holding the
 * slave has exited; other errors are re-emitted as `terminalError`.
 */
export function terminalStream(master: number): Duplex {
  const s = new (tty().ReadStream)(master)
  fds.set(s, master)
  // EIO is how a pty master reports that the slave side is gone: that is the end of output.
  s.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EIO') s.emit('terminalError', err)
  })
  return s
}

/** Set the container terminal's size (TIOCSWINSZ on the master; the container sees SIGWINCH). */
export async function resizeTerminal(stream: Duplex | undefined, cols: number, rows: number): Promise<void> {
  const fd = stream === undefined ? undefined : fds.get(stream)
  if (fd === undefined || stream?.destroyed === true) return
  const n = await native()
  try {
    n.ttySetSize(fd, cols, rows)
  } catch (err) {
    throw fromNative(err)
  }
}

/** The size of a terminal fd of this process (e.g. 0 or 1), or null when it is not a terminal. */
export async function terminalSize(fd: number): Promise<{ cols: number; rows: number } | null> {
  const n = await native()
  try {
    return n.ttyGetSize(fd)
  } catch (err) {
    throw fromNative(err)
  }
}
