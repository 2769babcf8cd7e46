/** The control protocol against fake helpers (shell scripts speaking on fd 3). */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import test, { type ExecutionContext } from 'ava'

import type { Plan } from '../../ts/config/plan.js'
import { LxtsError } from '../../ts/errors.js'
import { helperPath, startHelper } from '../../ts/lifecycle/helper.js'
import { LaunchedHelper } from '../../ts/lifecycle/launch.js'
import { loadNative } from '../../ts/native.js'

const dir = mkdtempSync(join(tmpdir(), 'lxts-fake-helper-'))
test.after.always(() => rmSync(dir, { recursive: true, force: true }))
// Loaded first, as Runtime.create does: these plain-stdio helpers then start through the
// binding's posix_spawn (launch.ts), not child_process.
test.before(async () => {
  await loadNative()
})

function fake(name: string, body: string): string {
  const p = join(dir, name)
  writeFileSync(p, `#!/bin/sh\nread -r plan <&3\nprintf '%s\\n' "$plan" > ${p}.plan\n${body}\n`)
  chmodSync(p, 0o755)
  return p
}

function plan(mode: 'create' | 'monitor'): Plan {
  return { mode, id: 'c1', bundle: '/b', stateDir: '/s', config: { ociVersion: '1.2.0' }, cgroup: { path: '/lxts/c1' }, noPivot: false, preserveFds: 0, consoleSocket: null, init: false, initForwardToGroup: false, removeOnExit: false, startOnCreate: false }
}

function withHelper<T>(path: string, fn: () => T): T {
  const old = process.env['LXTS_HELPER']
  process.env['LXTS_HELPER'] = path
  try {
    return fn()
  } finally {
    if (old === undefined) delete process.env['LXTS_HELPER']
    else process.env['LXTS_HELPER'] = old
  }
}

const io = { stdio: ['ignore', 'ignore', 'ignore'] as ['ignore', 'ignore', 'ignore'] }

test.serial('created (create mode): resolves once the helper has exited; the plan is one JSON line', async (t) => {
  const p = fake('ok', `echo '{"type":"created","pid":123,"startTime":456,"cgroups":["/sys/fs/cgroup/pids/lxts/c1"],"createdCgroups":["/sys/fs/cgroup/pids/lxts","/sys/fs/cgroup/pids/lxts/c1"]}' >&3`)
  const h = withHelper(p, () => startHelper(helperPath(), plan('create'), io))
  t.true(h.child instanceof LaunchedHelper, 'started by posix_spawn')
  t.deepEqual(await h.created, {
    pid: 123,
    startTime: 456,
    cgroups: ['/sys/fs/cgroup/pids/lxts/c1'],
    createdCgroups: ['/sys/fs/cgroup/pids/lxts', '/sys/fs/cgroup/pids/lxts/c1'],
  })
  t.deepEqual(JSON.parse(readFileSync(`${p}.plan`, 'utf8')), plan('create'))
})

test.serial('monitor mode: created, then exited', async (t) => {
  const p = fake('mon', `echo '{"type":"created","pid":1,"startTime":2,"cgroups":[]}' >&3\nsleep 0.1\necho '{"type":"exited","exitCode":137,"status":null,"signal":9}' >&3\nexit 137`)
  const h = withHelper(p, () => startHelper(helperPath(), plan('monitor'), io))
  t.is((await h.created).pid, 1)
  t.deepEqual(await h.exited, { exitCode: 137, signal: 9 })
})

test.serial('error report: LxtsError with the code, syscall, path and errno', async (t) => {
  const p = fake('err', `echo '{"type":"error","code":"ERR_LXTS_MOUNT","message":"mount /proc: No such file","syscall":"mount","path":"/proc","errno":2}' >&3\nexit 1`)
  const h = withHelper(p, () => startHelper(helperPath(), plan('create'), io))
  const e = await t.throwsAsync(h.created, { instanceOf: LxtsError })
  t.like(e, { code: 'ERR_LXTS_MOUNT', message: 'mount /proc: No such file', syscall: 'mount', path: '/proc', errno: 2 })
})

test.serial('unknown error codes become ERR_LXTS_HELPER', async (t) => {
  const p = fake('weird', `echo '{"type":"error","code":"E_WHAT","message":"m"}' >&3`)
  await t.throwsAsync(withHelper(p, () => startHelper(helperPath(), plan('create'), io)).created, { code: 'ERR_LXTS_HELPER' })
})

test.serial('dying without a report: ERR_LXTS_HELPER naming the exit code', async (t) => {
  const p = fake('die', 'exit 3')
  const e = await t.throwsAsync(withHelper(p, () => startHelper(helperPath(), plan('monitor'), io)).created, { code: 'ERR_LXTS_HELPER' })
  t.regex(e?.message ?? '', /exit code 3/)
})

test.serial('a malformed report is ERR_LXTS_PROTOCOL', async (t) => {
  const p = fake('bad', `echo 'not json' >&3`)
  await t.throwsAsync(withHelper(p, () => startHelper(helperPath(), plan('create'), io)).created, { code: 'ERR_LXTS_PROTOCOL' })
})

test.serial('a missing binary is ERR_LXTS_HELPER naming it', async (t) => {
  const nope = join(dir, 'nope')
  const e = await t.throwsAsync(async () => withHelper(nope, () => startHelper(helperPath(), plan('create'), io)).created, { code: 'ERR_LXTS_HELPER' })
  t.regex(e?.message ?? '', /cannot run lxts-helper/)
  t.is((e as LxtsError | undefined)?.path, nope)
})

test.serial('a helper killed by a signal: ERR_LXTS_HELPER naming the signal', async (t) => {
  const p = fake('killed', 'kill -TERM $$')
  const e = await t.throwsAsync(withHelper(p, () => startHelper(helperPath(), plan('monitor'), io)).created, { code: 'ERR_LXTS_HELPER' })
  t.regex(e?.message ?? '', /signal SIGTERM/)
})

test.serial('helper path: LXTS_HELPER wins, else next to the package root', (t) => {
  t.is(withHelper('/x/y', () => helperPath()), '/x/y')
  try {
    t.is(withHelper('', () => helperPath()), join(process.cwd(), 'lxts-helper'))
  } catch (e) {
    t.is((e as LxtsError).code, 'ERR_LXTS_NATIVE_UNAVAILABLE')
  }
})

/** A package installed from the registry: no helper at its root, the platform package has it. */
function installedLayout(t: ExecutionContext, withOwn: boolean): { base: URL; own: string; platform: string } {
  const root = mkdtempSync(join(tmpdir(), 'lxts-installed-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const pkg = join(root, 'node_modules', 'lxts')
  mkdirSync(join(pkg, 'dist', 'lifecycle'), { recursive: true })
  const libc = process.arch === 'arm' ? 'gnueabihf' : 'gnu'
  const platformDir = join(root, 'node_modules', `lxts-linux-${process.arch}-${libc}`)
  mkdirSync(platformDir, { recursive: true })
  writeFileSync(join(platformDir, 'package.json'), JSON.stringify({ name: `lxts-linux-${process.arch}-${libc}`, version: '0.0.0' }))
  const platform = join(platformDir, 'lxts-helper')
  writeFileSync(platform, '#!/bin/sh\n')
  chmodSync(platform, 0o755)
  const own = join(pkg, 'lxts-helper')
  if (withOwn) {
    writeFileSync(own, '#!/bin/sh\n')
    chmodSync(own, 0o755)
  }
  return { base: pathToFileURL(join(pkg, 'dist', 'lifecycle', 'helper.js')), own, platform }
}

test.serial('an installed package finds the helper in its platform package', (t) => {
  const { base, platform } = installedLayout(t, false)
  t.is(withHelper('', () => helperPath(base)), platform)
})

test.serial('a helper at the package root (a checkout build) comes first', (t) => {
  const { base, own } = installedLayout(t, true)
  t.is(withHelper('', () => helperPath(base)), own)
})

test.serial('no helper anywhere: ERR_LXTS_NATIVE_UNAVAILABLE naming where it looked', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lxts-nohelper-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const base = pathToFileURL(join(root, 'dist', 'lifecycle', 'helper.js'))
  const e = t.throws(() => withHelper('', () => helperPath(base)), { code: 'ERR_LXTS_NATIVE_UNAVAILABLE' })
  t.true(e?.message.includes(join(root, 'lxts-helper')), e?.message)
})
