/**
 * Persisted container state: `<root>/<id>/state.json`, written atomically (temp file,
 * rename; no fsync, see {@link writeFileAtomic}). The per-id directory is created with a
 * plain `mkdir`, which is also how two concurrent creates of one id resolve: exactly one
 * wins, the other gets ERR_LXTS_EXISTS.
 *
 * The calls are synchronous behind an async API: these are files of a few hundred bytes
 * in a local directory (normally the tmpfs `/run`), where a synchronous call takes a few
 * microseconds and an async one is a libuv thread-pool round trip of 0.1-0.3 ms; a
 * `Runtime.run` makes about a dozen of them.
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'

import { LxtsError, errnoCode } from '../errors.js'
import { STATUSES } from './status.js'
import type { ExitStatus, StoredState } from './types.js'

/** The default state root as root, as runc's `/run/runc`; {@link defaultRoot} is the current user's. */
export const DEFAULT_ROOT = '/run/lxts'

/** Whether lxts runs unprivileged (rootless): not as root on the host. */
export function isRootless(): boolean {
  return process.geteuid?.() !== 0
}

/**
 * The state root when none is given: {@link DEFAULT_ROOT} as root; rootless, as runc,
 * `$XDG_RUNTIME_DIR/lxts`, else `/tmp/lxts-<uid>` (which must then be ours alone: see
 * {@link StateStore.ensureRoot}).
 */
export function defaultRoot(): string {
  if (!isRootless()) return DEFAULT_ROOT
  const xdg = process.env['XDG_RUNTIME_DIR']
  return xdg !== undefined && xdg.startsWith('/') ? join(xdg, 'lxts') : `/tmp/lxts-${process.geteuid?.() ?? 'user'}`
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,1023}$/

/** Throw ERR_LXTS_INVALID_ID unless `id` is a safe container id. */
export function assertValidId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !ID_RE.test(id) || id === '.' || id === '..') {
    throw new LxtsError(
      'ERR_LXTS_INVALID_ID',
      `invalid container id ${JSON.stringify(id)}: use 1 to 1024 of [A-Za-z0-9_.+-], starting with a letter or digit`,
    )
  }
}

/**
 * Write `data` to `file` atomically: a temp file in the same directory, then rename, so a
 * reader sees the old or the new content, never a partial one. No fsync (as runc): the state
 * describes processes that a power loss kills anyway, the root is normally the tmpfs `/run`,
 * and the fsyncs cost ~0.25 ms each on a disk-backed root, four per `Runtime.run`. A file
 * lost in a crash reads as ERR_LXTS_STATE_CORRUPT, which `delete --force` recovers.
 */
export async function writeFileAtomic(file: string, data: string, mode = 0o600): Promise<void> {
  writeFileAtomicSync(file, data, mode)
}

function writeFileAtomicSync(file: string, data: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`
  let fd: number
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode)
  } catch (err) {
    throw stateWriteError(file, err)
  }
  try {
    try {
      const bytes = Buffer.from(data)
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, file)
  } catch (err) {
    ignore(() => unlinkSync(tmp))
    throw stateWriteError(file, err)
  }
}

/** Run `fn`, ignoring any error (best-effort cleanup). */
function ignore(fn: () => void): void {
  try {
    fn()
  } catch {
    // best effort
  }
}

/** Run `fn`, ignoring ENOENT only. */
function unlessMissing(fn: () => void): void {
  try {
    fn()
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err
  }
}

/** A failed state write (ENOSPC, EROFS, EIO…) as ERR_LXTS_SYSCALL naming the file; the temp file is gone. */
function stateWriteError(file: string, err: unknown): LxtsError {
  const e = err as NodeJS.ErrnoException
  const details = { path: file, syscall: e.syscall ?? 'write', cause: err }
  return new LxtsError('ERR_LXTS_SYSCALL', `cannot write ${file}: ${e.code ?? e.message}`, typeof e.errno === 'number' ? { ...details, errno: -e.errno } : details)
}

function corrupt(file: string, why: string, cause?: unknown): LxtsError {
  return new LxtsError('ERR_LXTS_STATE_CORRUPT', `${file}: ${why}`, cause === undefined ? { path: file } : { path: file, cause })
}

function notFound(id: string): LxtsError {
  return new LxtsError('ERR_LXTS_NOT_FOUND', `container "${id}" does not exist`)
}

function parseState(file: string, text: string): StoredState {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (err) {
    throw corrupt(file, `invalid JSON: ${(err as Error).message}`, err)
  }
  if (typeof v !== 'object' || v === null) throw corrupt(file, 'not a JSON object')
  const s = v as Record<string, unknown>
  for (const k of ['id', 'bundle', 'rootfs', 'created', 'owner', 'ociVersion']) {
    if (typeof s[k] !== 'string') throw corrupt(file, `field "${k}" is missing or not a string`)
  }
  if (!STATUSES.includes(s['status'] as never)) throw corrupt(file, `field "status" is ${JSON.stringify(s['status'])}`)
  for (const k of ['pid', 'startTime']) {
    if (s[k] !== undefined && !Number.isInteger(s[k])) throw corrupt(file, `field "${k}" is not an integer`)
  }
  return v as StoredState
}

/** Remove a directory tree that must lie entirely on device `dev` (refuses to cross a mount). */
function removeTree(dir: string, dev: number): void {
  const st = lstatSync(dir)
  if (st.dev !== dev) throw new LxtsError('ERR_LXTS_UNSAFE_PATH', `refusing to remove ${dir}: it is a mount point`, { path: dir })
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) removeTree(p, dev)
    else unlinkSync(p)
  }
  rmdirSync(dir)
}

/** The container state directories under one root. */
export class StateStore {
  /** Absolute state root. */
  readonly root: string

  constructor(root: string = defaultRoot()) {
    this.root = root
  }

  /** `<root>/<id>`. */
  dir(id: string): string {
    assertValidId(id)
    this.#assertOwnRoot()
    return join(this.root, id)
  }

  /**
   * Rootless: a root others can write to, or that is not ours (another user may have made
   * `/tmp/lxts-<uid>` first, with a "container" whose poststop hook `delete` would run, or
   * whose `init` record names a process of ours), is refused before anything is read from or
   * made in it; a missing one is made first (0700), so nobody else can make it between the
   * check and the use. Checked at every use (one lstat): the directory may be replaced.
   */
  #assertOwnRoot(): void {
    if (!isRootless()) return
    let st
    try {
      st = lstatSync(this.root)
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err
      mkdirSync(this.root, { recursive: true, mode: 0o700 })
      st = lstatSync(this.root)
    }
    if (!st.isDirectory() || st.uid !== process.geteuid?.() || (st.mode & 0o022) !== 0) {
      throw new LxtsError('ERR_LXTS_SYSCALL', `state root ${this.root} is not a directory of ours that only we can write (use --root)`, { path: this.root })
    }
  }

  /** A file inside `<root>/<id>`. */
  file(id: string, name: 'state.json' | 'config.json' | 'lock' | 'exec.fifo' | 'exit.json' | 'rootfs' | 'log' | 'init'): string {
    return join(this.dir(id), name)
  }

  /**
   * Create the root (mode 0700) when missing; rootless, it must then be ours alone (see
   * #assertOwnRoot): whoever controls it controls what lxts reads back as state.
   */
  async ensureRoot(): Promise<void> {
    if (isRootless()) this.#assertOwnRoot()
    else mkdirSync(this.root, { recursive: true, mode: 0o700 })
  }

  /** Claim `id`: `mkdir <root>/<id>`. ERR_LXTS_EXISTS when it is taken. */
  async claim(id: string): Promise<string> {
    const dir = this.dir(id)
    await this.ensureRoot()
    try {
      mkdirSync(dir, { mode: 0o700 })
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') throw new LxtsError('ERR_LXTS_EXISTS', `container "${id}" already exists`, { path: dir })
      throw stateWriteError(dir, err)
    }
    return dir
  }

  /** Whether `<root>/<id>` exists. */
  async exists(id: string): Promise<boolean> {
    try {
      readdirSync(this.dir(id))
      return true
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false
      throw err
    }
  }

  /** Write `state.json` atomically. */
  async write(state: StoredState): Promise<void> {
    await writeFileAtomic(this.file(state.id, 'state.json'), JSON.stringify(state))
  }

  /** Write the normalized config next to the state. */
  async writeConfig(id: string, config: unknown): Promise<void> {
    await writeFileAtomic(this.file(id, 'config.json'), JSON.stringify(config))
  }

  /** Read `state.json`: ERR_LXTS_NOT_FOUND when the container does not exist, ERR_LXTS_STATE_CORRUPT when unreadable. */
  async read(id: string): Promise<StoredState> {
    const file = this.file(id, 'state.json')
    let text: string | undefined
    // A directory without state.json is a create that has not written it yet or a delete that
    // has just removed it (both take well under a millisecond): look again for up to ~100 ms
    // before calling it corrupt, so a concurrent `state` or `list` sees the one or the other.
    for (let attempt = 0; text === undefined; attempt++) {
      try {
        text = readFileSync(file, 'utf8')
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw corrupt(file, (err as Error).message, err)
        if (!(await this.exists(id))) throw notFound(id)
        if (attempt === 20) throw corrupt(file, 'missing (the container may still be being created)', err)
        await new Promise((r) => setTimeout(r, 5))
      }
    }
    const s = parseState(file, text)
    if (s.id !== id) throw corrupt(file, `holds id "${s.id}", not "${id}"`)
    return s
  }

  /** `exit.json` written by a monitor, or undefined when absent. */
  async readExit(id: string): Promise<ExitStatus | undefined> {
    const file = this.file(id, 'exit.json')
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined
      throw corrupt(file, (err as Error).message, err)
    }
    try {
      const v = JSON.parse(text) as Record<string, unknown>
      const exitCode = v['exitCode']
      const signal = v['signal']
      if (!Number.isInteger(exitCode)) throw new Error('"exitCode" is not an integer')
      const exit: ExitStatus = { exitCode: exitCode as number, signal: Number.isInteger(signal) ? (signal as number) : null }
      if (typeof v['oomKilled'] === 'boolean') exit.oomKilled = v['oomKilled']
      return exit
    } catch (err) {
      throw corrupt(file, (err as Error).message, err)
    }
  }

  /** Ids of every container under the root (directories with a valid id name). */
  async ids(): Promise<string[]> {
    let entries
    try {
      this.#assertOwnRoot()
      entries = readdirSync(this.root, { withFileTypes: true })
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return []
      throw err
    }
    return entries.filter((e) => e.isDirectory() && ID_RE.test(e.name)).map((e) => e.name).sort()
  }

  /**
   * Every readable state. Containers that vanish meanwhile or are mid-creation are
   * skipped; unreadable ones are passed to `onError` (default: skipped).
   */
  async list(onError?: (id: string, err: LxtsError) => void): Promise<StoredState[]> {
    const out: StoredState[] = []
    for (const id of await this.ids()) {
      try {
        out.push(await this.read(id))
      } catch (err) {
        if (err instanceof LxtsError && err.code === 'ERR_LXTS_STATE_CORRUPT') onError?.(id, err)
        else if (!(err instanceof LxtsError && err.code === 'ERR_LXTS_NOT_FOUND')) throw err
      }
    }
    return out
  }

  /**
   * Remove `<root>/<id>`: its files, the sandbox `rootfs` lxts made (holding only the
   * mount points the helper created; a directory on another filesystem, i.e. a stray
   * mount, is never descended into), then the directory itself.
   */
  async remove(id: string): Promise<void> {
    const dir = this.dir(id)
    let entries
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return
      throw err
    }
    for (const e of entries) {
      const p = join(dir, e.name)
      unlessMissing(() => (e.isDirectory() ? removeTree(p, lstatSync(dir).dev) : unlinkSync(p)))
    }
    unlessMissing(() => rmdirSync(dir))
  }
}
