/** Polling helpers for asynchronous outcomes (a process exiting, a status changing). */
import { setTimeout as sleep } from 'node:timers/promises'

/** Poll `check` every `interval` ms until it returns a non-undefined value or `timeout` ms pass. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeout = 10_000, interval = 50): Promise<T | undefined> {
  const deadline = Date.now() + timeout
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > deadline) return undefined
    await sleep(interval)
  }
}
