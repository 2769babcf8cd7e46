/** A detached container to exec into, shared by the exec specs. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import { describe } from './cli.js'
import type { Harness } from './harness.js'

/** `run -d` a bundle whose PID 1 is `sleep 1000`; its id, init pid and bundle dir. */
export async function running(h: Harness, t: ExecutionContext): Promise<{ id: string; pid: number; dir: string }> {
  const b = h.bundle(['sleep', '1000'])
  const r = await h.cli(['run', '-d', '-b', b.dir, b.id], { timeout: 15_000 })
  t.is(r.code, 0, describe(r))
  const pid = (JSON.parse(readFileSync(join(h.root(), b.id, 'state.json'), 'utf8')) as { pid: number }).pid
  return { id: b.id, pid, dir: b.dir }
}

/** `delete --force` it. */
export async function done(h: Harness, t: ExecutionContext, id: string): Promise<void> {
  t.is((await h.cli(['delete', '--force', id])).code, 0)
}
