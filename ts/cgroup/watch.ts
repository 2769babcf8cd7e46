/**
 * `cgroups.watch`: events of a group as an async iterable.
 *
 * - v2: `populated` changes, read from `cgroup.events` (inotify through `fs.watch`, plus a
 *   slow poll in case a change notification is missed).
 * - v1, only on a hierarchy lxts mounted itself: `notify_on_release` on the group and a
 *   `release_agent` (a tiny script running `lxts-helper release-agent FILE PATH`) that appends
 *   one JSON line per released group to a file this watcher tails.
 * - v1 memory (`oom: true`): OOM events through `cgroup.event_control` + an eventfd.
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs'
import { join } from 'node:path'

import { LxtsError } from '../errors.js'
import { helperPath } from '../lifecycle/helper.js'
import { existing, type HierarchySelector } from './groups.js'
import { withTool } from './native.js'
import { fsPromises, os } from '../lazy-builtins.js'

/** One event. `hierarchy` is the mount point it came from. */
export type CgroupEvent =
  | { event: 'populated'; hierarchy: string; dir: string; populated: boolean }
  | { event: 'release'; hierarchy: string; path: string }
  | { event: 'oom'; hierarchy: string; dir: string }

/** Options of {@link watch}. */
export interface WatchOptions {
  /** Stop watching (and undo the release agent) when aborted. */
  signal?: AbortSignal
  /** Also report v1 memory OOM events. */
  oom?: boolean
}

const POLL_MS = 500

/** A small queue turning callbacks into an async iterator. */
class Queue<T> {
  #items: T[] = []
  #wake: (() => void) | undefined
  #error: unknown
  #closed = false
  push(item: T): void {
    this.#items.push(item)
    this.#wake?.()
  }
  fail(err: unknown): void {
    this.#error ??= err
    this.#wake?.()
  }
  close(): void {
    this.#closed = true
    this.#wake?.()
  }
  async next(): Promise<T | undefined> {
    for (;;) {
      const item = this.#items.shift()
      if (item !== undefined) return item
      if (this.#error !== undefined) throw this.#error
      if (this.#closed) return undefined
      await new Promise<void>((r) => (this.#wake = r))
      this.#wake = undefined
    }
  }
}

function populatedOf(text: string): boolean | undefined {
  const line = text.split('\n').find((l) => l.startsWith('populated '))
  return line === undefined ? undefined : line.trim().endsWith('1')
}

/**
 * Watch group `path`. Explicitly selecting a v1 hierarchy lxts did not mount is refused
 * (release agents are never set on host hierarchies); by default such hierarchies are skipped.
 */
export async function* watch(path: string, o: WatchOptions = {}, sel: HierarchySelector = {}): AsyncGenerator<CgroupEvent> {
  const explicit = sel.hierarchy !== undefined || (sel.controllers?.length ?? 0) > 0
  const dirs = await existing(path, sel)
  const owned = await withTool((b) => dirs.map((d) => !d.v2 && b.cgroupIsOwned(d.mountPoint)))
  const refused = dirs.filter((d, i) => !d.v2 && owned[i] !== true)
  if (explicit && refused.length > 0 && !(o.oom === true && refused.every((d) => d.controllers.includes('memory')))) {
    const where = refused.map((d) => d.mountPoint).join(', ')
    throw new LxtsError(
      'ERR_LXTS_CGROUP',
      `cgroup watch: ${where} is not a hierarchy lxts mounted itself; release agents are only set on those (lxts cgroup mount DIR --name NAME)`,
    )
  }
  const q = new Queue<CgroupEvent>()
  const cleanups: (() => Promise<void> | void)[] = []
  let stopped = false
  const stop = (): void => {
    stopped = true
    q.close()
  }
  o.signal?.addEventListener('abort', stop, { once: true })
  try {
    for (const [i, d] of dirs.entries()) {
      if (d.v2) cleanups.push(watchPopulated(d.mountPoint, d.dir, q))
      else if (owned[i] === true) cleanups.push(await watchRelease(d.mountPoint, d.dir, q, () => stopped))
      if (o.oom === true && !d.v2 && d.controllers.includes('memory')) watchOom(d.mountPoint, d.dir, q, () => stopped)
    }
    if (cleanups.length === 0 && o.oom !== true) {
      throw new LxtsError('ERR_LXTS_CGROUP', `cgroup watch ${path}: nothing to watch (no cgroup2 hierarchy and no lxts-mounted v1 hierarchy selected)`)
    }
    if (o.signal?.aborted === true) stop()
    for (;;) {
      const ev = await q.next()
      if (ev === undefined) return
      yield ev
    }
  } finally {
    stopped = true
    o.signal?.removeEventListener('abort', stop)
    for (const c of cleanups.reverse()) await c()
  }
}

/** v2: report `populated` now and on every change. */
function watchPopulated(mountPoint: string, dir: string, q: Queue<CgroupEvent>): () => void {
  const file = join(dir, 'cgroup.events')
  let last: boolean | undefined
  let busy = false
  const check = async (): Promise<void> => {
    if (busy) return
    busy = true
    try {
      const now = populatedOf(await fsPromises().readFile(file, 'utf8'))
      if (now !== undefined && now !== last) {
        last = now
        q.push({ event: 'populated', hierarchy: mountPoint, dir, populated: now })
      }
    } catch {
      // The group was removed: nothing more will change.
    } finally {
      busy = false
    }
  }
  let watcher: FSWatcher | undefined
  try {
    watcher = fsWatch(file, () => void check())
    watcher.on('error', () => {})
  } catch {
    watcher = undefined
  }
  const timer = setInterval(() => void check(), POLL_MS)
  void check()
  return () => {
    watcher?.close()
    clearInterval(timer)
  }
}

/** v1 on an lxts-mounted hierarchy: notify_on_release + a release agent writing to a file we tail. */
async function watchRelease(mountPoint: string, dir: string, q: Queue<CgroupEvent>, done: () => boolean): Promise<() => Promise<void>> {
  const tmp = await fsPromises().mkdtemp(join(os().tmpdir(), 'lxts-release-'))
  const events = join(tmp, 'events.jsonl')
  const agent = join(tmp, 'agent')
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`
  await fsPromises().writeFile(events, '', { mode: 0o600 })
  await fsPromises().writeFile(agent, `#!/bin/sh\nexec ${quote(helperPath())} release-agent ${quote(events)} "$1"\n`, { mode: 0o700 })
  await fsPromises().chmod(agent, 0o700)
  await withTool((b) => {
    b.cgroupSetReleaseAgent(mountPoint, agent)
    b.cgroupSet(dir, 'notify_on_release', '1')
  })
  let offset = 0
  let partial = ''
  const timer = setInterval(() => {
    void (async () => {
      if (done()) return
      const fh = await fsPromises().open(events, 'r').catch(() => undefined)
      if (fh === undefined) return
      try {
        const buf = Buffer.alloc(65536)
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset)
        offset += bytesRead
        partial += buf.subarray(0, bytesRead).toString('utf8')
      } finally {
        await fh.close()
      }
      const lines = partial.split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines.filter((l) => l.trim() !== '')) {
        try {
          const r = JSON.parse(line) as { path?: unknown }
          if (typeof r.path === 'string') q.push({ event: 'release', hierarchy: mountPoint, path: r.path })
        } catch {
          // A line we did not write: ignore it.
        }
      }
    })().catch((e: unknown) => q.fail(e))
  }, 50)
  return async () => {
    clearInterval(timer)
    // Undo what we set; the group may already be gone.
    await withTool((b) => {
      try {
        // One newline: an empty write(2) would not reach the kernel; it strips the newline.
        b.cgroupSet(mountPoint, 'release_agent', '\n')
      } catch {
        // The hierarchy was unmounted meanwhile.
      }
    }).catch(() => {})
    await fsPromises().rm(tmp, { recursive: true, force: true })
  }
}

/** v1 memory: wait for OOM events one at a time (bounded waits so stopping is prompt). */
function watchOom(mountPoint: string, dir: string, q: Queue<CgroupEvent>, done: () => boolean): void {
  void (async () => {
    while (!done()) {
      const oom = await withTool((b) => b.cgroupWaitOom(dir, 1000))
      if (oom && !done()) q.push({ event: 'oom', hierarchy: mountPoint, dir })
      if (!oom && !(await import('node:fs')).existsSync(dir)) return
    }
  })().catch((e: unknown) => q.fail(e))
}
