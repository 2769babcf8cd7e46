/**
 * The OCI runtime-spec rules the runtime-tools validation suite checks, kept in the
 * project's own tests so CI holds them without the suite (docs/CONFORMANCE.md): config
 * strictness (ociVersion, unknown capability and rlimit), a config without `process`
 * (create works, start fails), root.path "." (the bundle is the rootfs), a user namespace
 * under a 0700 bundle parent, rootfsPropagation shared/unbindable, state.bundle as given.
 */
import { spawn } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import type { TestConfig } from '../helpers/bundle.js'
import { describe, type CliResult } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { waitFor } from '../helpers/wait.js'

const h = harness(test)

function ok(t: ExecutionContext, r: CliResult): void {
  t.is(r.code, 0, describe(r))
}

async function status(id: string): Promise<string> {
  const r = await h.cli(['state', id])
  return r.code === 0 ? (JSON.parse(r.stdout) as { status: string }).status : `exit ${r.code}`
}

async function refused(t: ExecutionContext, edit: (c: TestConfig) => void, field: RegExp): Promise<void> {
  const b = h.bundle(['true'], edit)
  const r = await h.cli(['create', '-b', b.dir, b.id])
  t.not(r.code, 0, describe(r))
  t.regex(r.stderr, field)
  t.false(existsSync(join(h.root(), b.id)), 'nothing left')
}

h.it('ociVersion: 1.3.0 runs, a non-semver version is refused', async (t) => {
  const b = h.bundle(['true'], (c) => (c.ociVersion = '1.3.0'))
  ok(t, await h.cli(['run', '--rm', '-b', b.dir, b.id]))
  await refused(t, (c) => (c.ociVersion = 'invalid'), /ociVersion/)
})

h.it('an unknown capability or rlimit type is refused, naming the field', async (t) => {
  await refused(t, (c) => c.process.capabilities.bounding.push('CAP_TEST'), /process\.capabilities\.bounding\[3\]/)
  await refused(t, (c) => (c.process.capabilities.ambient = ['CAP_NOPE']), /process\.capabilities\.ambient\[0\]/)
  await refused(t, (c) => (c.process.rlimits = [{ type: 'RLIMIT_TEST', soft: 1, hard: 1 }]), /process\.rlimits\[0\]\.type/)
})

h.it('a config without process can be created; start fails and the container stops', async (t) => {
  const b = h.bundle(['true'], (c) => delete (c as Partial<TestConfig>).process)
  ok(t, await h.cli(['create', '-b', b.dir, b.id]))
  t.is(await status(b.id), 'created')
  const r = await h.cli(['start', b.id])
  t.not(r.code, 0, describe(r))
  t.regex(r.stderr, /process: is required to start/)
  const stopped = await waitFor(async () => ((await status(b.id)) === 'stopped' ? true : undefined))
  t.true(stopped, 'the init exits once start was refused')
  ok(t, await h.cli(['delete', b.id]))
})

h.it('root.path "." makes the bundle the rootfs (config.json visible inside); state.bundle is the --bundle given', async (t) => {
  const b = h.bundle(['cat', '/config.json'], (c) => (c.root.path = '.'))
  // The bundle becomes the rootfs directory itself, holding config.json.
  renameSync(join(b.dir, 'config.json'), join(b.rootfs, 'config.json'))
  ok(t, await h.cli(['create', '-b', b.rootfs, b.id]))
  const s = JSON.parse((await h.cli(['state', b.id])).stdout) as { bundle: string; rootfs: string }
  t.is(s.bundle, b.rootfs)
  t.is(s.rootfs, b.rootfs)
  ok(t, await h.cli(['delete', '--force', b.id]))
  const r = await h.cli(['run', '--rm', '-b', b.rootfs, b.id])
  ok(t, r)
  t.regex(r.stdout, /"ociVersion"/, 'the config is readable inside')
})

h.it('a user namespace works when the path to the rootfs is not searchable by the mapped root (0700 parent)', async (t) => {
  const outer = mkdtempSync(join(tmpdir(), 'lxts-0700-'))
  t.teardown(() => rmSync(outer, { recursive: true, force: true }))
  chmodSync(outer, 0o700)
  const b = h.bundle(['sh', '-c', 'cat /proc/self/uid_map; ls /lxts-marker'], (c) => {
    c.linux.namespaces.push({ type: 'user' })
    c.linux['uidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
    c.linux['gidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
  })
  const inner = join(outer, 'bundle')
  mkdirSync(inner)
  renameSync(b.rootfs, join(inner, 'rootfs'))
  copyFileSync(join(b.dir, 'config.json'), join(inner, 'config.json'))
  t.teardown(() => renameSync(join(inner, 'rootfs'), b.rootfs))
  const r = await h.cli(['run', '--rm', '-b', inner, b.id])
  ok(t, r)
  t.regex(r.stdout, /0\s+100000\s+65536/)
  t.regex(r.stdout, /\/lxts-marker/)
})

h.it('rootfsPropagation shared and unbindable apply to the container root', async (t) => {
  const cases: [string, RegExp][] = [
    ['shared', /shared:\d+/],
    ['unbindable', /unbindable/],
  ]
  for (const [mode, re] of cases) {
    const b = h.bundle(['sh', '-c', "awk '$5 == \"/\" { print }' /proc/self/mountinfo"], (c) => (c.linux['rootfsPropagation'] = mode))
    const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
    ok(t, r)
    t.regex(r.stdout, re, `${mode}: ${r.stdout}`)
  }
})

h.it('hook and seccomp sections do not leak across: a bundle edited after create does not change the container', async (t) => {
  const b = h.bundle(['sh', '-c', 'echo first'])
  ok(t, await h.cli(['create', '-b', b.dir, b.id]))
  b.config.process.args = ['sh', '-c', 'echo second']
  b.config['hooks'] = { prestart: [{ path: '/bin/false' }] }
  b.write()
  ok(t, await h.cli(['start', b.id]))
  t.is(await waitFor(async () => ((await status(b.id)) === 'stopped' ? 'stopped' : undefined)), 'stopped')
  ok(t, await h.cli(['delete', b.id]))
  writeFileSync(join(b.dir, 'unused'), '')
})

h.it('mount and uts namespaces joined by path: the container sets up its root and hostname there', async (t) => {
  // A private mount + uts namespace held by a sleeping process of this test.
  const holder = spawn('unshare', ['--mount', '--uts', '--propagation', 'private', 'sleep', '60'], { stdio: 'ignore' })
  t.teardown(() => holder.kill('SIGKILL'))
  const pid = holder.pid ?? 0
  const ready = await waitFor(() => {
    try {
      return readlinkSync(`/proc/${pid}/ns/mnt`) !== readlinkSync('/proc/self/ns/mnt') ? true : undefined
    } catch {
      return undefined
    }
  })
  t.true(ready, 'the holder has its own mount namespace')
  const b = h.bundle(['sh', '-c', 'hostname; cat /lxts-marker'], (c) => {
    c.linux.namespaces = c.linux.namespaces.map((n) => (n.type === 'mount' || n.type === 'uts' ? { type: n.type, path: `/proc/${pid}/ns/${n.type === 'mount' ? 'mnt' : 'uts'}` } : n))
  })
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
  ok(t, r)
  t.regex(r.stdout, /^lxts-test\nmarker-/, 'hostname set in the joined uts namespace; rootfs set up in the joined mount namespace')
})

h.it('rootfsPropagation shared: a mount made inside shows up in a bind of / (as runtimetest checks); private: it does not', async (t) => {
  const script = 'mkdir -p /t /m && mount --rbind / /t && mount -t tmpfs x /m && touch /m/f && ls /t/m/f'
  for (const [mode, exposed] of [['shared', true], ['private', false]] as const) {
    const b = h.bundle(['sh', '-c', script], (c) => {
      c.root.readonly = false
      c.linux['rootfsPropagation'] = mode
      for (const set of ['bounding', 'effective', 'permitted'] as const) c.process.capabilities[set].push('CAP_SYS_ADMIN')
    })
    const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
    t.is(r.code === 0, exposed, `${mode}: ${describe(r)}`)
  }
})
