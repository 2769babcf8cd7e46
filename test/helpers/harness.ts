/**
 * Per-spec-file setup for the integration tier: a private `--root`, bundle bookkeeping, and
 * after-hooks that force-delete leftovers and FAIL if anything leaked (state dir, cgroup, process).
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { ExecutionContext, TestFn } from 'ava'
import { type Bundle, cgroupDirsOf, makeBundle, makeStateRoot, processesOf, removeBundle, removeCgroupParents, type TestConfig } from './bundle.js'
import { describe, lxts, type CliOptions, type CliResult } from './cli.js'
import { integrationSkipReason, knownBugUnlessRoot, type Register, skipUnlessRoot } from './env.js'

/** What a spec file works with. */
export interface Harness {
  /** Register a serial test (skipped with a visible reason when not root). */
  it: Register
  /** Register a test of a KNOWN BUG (ava `failing`): flip it to `it` once the bug is fixed. */
  knownBug: Register
  /** This file's `--root`. */
  root(): string
  /** A new bundle; its container id is tracked for the leak check. */
  bundle(args?: string[], edit?: (c: TestConfig) => void): Bundle
  /** Run the CLI with this file's `--root`. */
  cli(args: string[], opts?: CliOptions): Promise<CliResult>
  /** Track an id created without {@link Harness.bundle} (e.g. sandboxes). */
  track(id: string): void
  /**
   * `create` of a bundle edited by `edit` fails with stderr matching `re`, and no state dir
   * is left (the after-hook checks cgroups and processes).
   */
  refusedAtCreate(t: ExecutionContext, edit: (c: TestConfig) => void, re: RegExp): Promise<void>
}

/** Install the hooks on `test` and return the helpers. */
export function harness(test: TestFn): Harness {
  const it = skipUnlessRoot(test)
  const enabled = integrationSkipReason() === undefined
  let root = ''
  const ids = new Set<string>()
  const bundles: string[] = []

  test.before(() => {
    if (enabled) root = makeStateRoot()
  })

  test.after.always('force-delete leftovers; nothing may leak', async (t) => {
    if (!enabled) return
    const leaks: string[] = []
    for (const id of ids) {
      if (existsSync(join(root, id))) {
        // a failed test may leave its container: force-delete it, which itself must work
        const r = await lxts(root, ['delete', '--force', id])
        if (r.code !== 0) leaks.push(`delete --force ${id} failed: ${describe(r)}`)
        if (existsSync(join(root, id))) leaks.push(`state dir ${join(root, id)} survived delete --force`)
      }
      for (const pid of processesOf(id)) leaks.push(`process ${pid} of ${id} still alive`)
      // test bundles use /lxts-test/<id>; sandboxes and library defaults use lxts's /lxts/<id>
      for (const dir of [...cgroupDirsOf(id), ...cgroupDirsOf(id, '/lxts')]) leaks.push(`cgroup ${dir} left behind`)
    }
    // a container's mounts live in its own mount namespace: none may show up on the host
    const hostMounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '')
    for (const mp of hostMounts) if (mp.startsWith(root + '/') || bundles.some((b) => mp.startsWith(b + '/'))) leaks.push(`host mount ${mp}`)
    const rest = existsSync(root) ? readdirSync(root) : []
    if (rest.length > 0) leaks.push(`--root ${root} not empty: ${rest.join(', ')}`)
    for (const dir of bundles) {
      try {
        removeBundle(dir)
      } catch (e) {
        leaks.push(String(e))
      }
    }
    if (leaks.length === 0) rmSync(root, { recursive: true, force: true })
    removeCgroupParents()
    t.deepEqual(leaks, [], 'the tests must leave nothing behind')
  })

  const h: Harness = {
    it,
    knownBug: knownBugUnlessRoot(test),
    root: () => root,
    bundle(args, edit) {
      const b = makeBundle(args, edit)
      ids.add(b.id)
      bundles.push(b.dir)
      return b
    },
    cli: (args, opts) => lxts(root, args, opts),
    track: (id) => ids.add(id),
    async refusedAtCreate(t, edit, re) {
      const b = h.bundle(['true'], edit)
      const r = await h.cli(['create', '-b', b.dir, b.id])
      t.not(r.code, 0, describe(r))
      t.regex(r.stderr, re, describe(r))
      t.false(existsSync(join(root, b.id)), `no state dir is left for ${b.id}`)
    },
  }
  return h
}
