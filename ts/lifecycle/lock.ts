/**
 * Per-container lock: an exclusive flock on `<root>/<id>/lock`, taken by every mutation.
 * Deleting the directory while holding it is fine: waiters then re-read the state and
 * find the container gone.
 */
import { closeSync } from 'node:fs'

import { LxtsError, errnoCode } from '../errors.js'
import { lockFile, tryLockFile } from '../native.js'
import type { StateStore } from './state-store.js'

/** Run `fn` while holding the lock of container `id`. ERR_LXTS_NOT_FOUND when it does not exist. */
export async function withLock<T>(store: StateStore, id: string, fn: () => Promise<T>): Promise<T> {
  let fd: number
  try {
    // Uncontended (the usual case) without a thread-pool round trip; else wait on the pool.
    const file = store.file(id, 'lock')
    fd = (await tryLockFile(file)) ?? (await lockFile(file))
  } catch (err) {
    if (err instanceof LxtsError && (err.errno === 2 || errnoCode(err.cause) === 'ENOENT') && !(await store.exists(id))) {
      throw new LxtsError('ERR_LXTS_NOT_FOUND', `container "${id}" does not exist`)
    }
    throw err
  }
  try {
    return await fn()
  } finally {
    try {
      closeSync(fd) // releases the flock; sync, so no thread-pool hop
    } catch {
      // already closed
    }
  }
}
