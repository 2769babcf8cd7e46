/**
 * The log of a container run with `log` (`run -d`): `<root>/<id>/log`, appended to by the
 * container's own stdout and stderr. Following ends once the container has stopped and
 * everything written has been read.
 */

import { LxtsError, errnoCode } from '../errors.js'
import { liveStatus } from './live-status.js'
import type { StateStore } from './state-store.js'
import { fsPromises } from '../lazy-builtins.js'

/** How often a follower looks for new output. */
const FOLLOW_POLL_MS = 200

/** Options of {@link readLog}. */
export interface LogOptions {
  /** Keep reading new output until the container stops. */
  follow?: boolean | undefined
}

async function stopped(store: StateStore, id: string): Promise<boolean> {
  try {
    return (await liveStatus(store, await store.read(id))) === 'stopped'
  } catch (err) {
    if (err instanceof LxtsError && err.code === 'ERR_LXTS_NOT_FOUND') return true
    throw err
  }
}

/** The log's content in chunks. ERR_LXTS_NOT_FOUND when the container has no log. */
export async function* readLog(store: StateStore, id: string, o: LogOptions = {}): AsyncGenerator<Buffer> {
  await store.read(id)
  const file = store.file(id, 'log')
  let fh
  try {
    fh = await fsPromises().open(file, 'r')
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      throw new LxtsError('ERR_LXTS_NOT_FOUND', `container "${id}" has no log (only "run -d" without a terminal writes one)`, { path: file })
    }
    throw err
  }
  try {
    const buf = Buffer.alloc(64 * 1024)
    let pos = 0
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos)
      if (bytesRead > 0) {
        pos += bytesRead
        yield Buffer.from(buf.subarray(0, bytesRead))
        continue
      }
      if (o.follow !== true) return
      // Stopped: one more read catches what was written just before the exit.
      if (await stopped(store, id)) {
        const last = await fh.read(buf, 0, buf.length, pos)
        if (last.bytesRead === 0) return
        pos += last.bytesRead
        yield Buffer.from(buf.subarray(0, last.bytesRead))
        continue
      }
      await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS))
    }
  } finally {
    await fh.close()
  }
}
