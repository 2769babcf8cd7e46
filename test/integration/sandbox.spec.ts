/**
 * The no-image sandbox, `lxts run -- CMD`: the host's tree, read-only, with private /tmp,
 * new pid/net/uts namespaces, and the command's exit status.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { cgroupDirsOf, cgroupMounts, newId, processesOf } from '../helpers/bundle.js'
import { type CliOptions, type CliResult, describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)

/** Sandboxes get the default cgroup path `/lxts/<id>` (no config to override it). */
const SANDBOX_CGROUP_PARENT = '/lxts'

/** `lxts run --rm ID -- ...cmd`, then check the sandbox left nothing (state, cgroups, processes). */
async function sandbox(t: ExecutionContext, cmd: string[], opts?: CliOptions): Promise<CliResult> {
  const id = newId()
  h.track(id)
  const r = await h.cli(['run', '--rm', id, '--', ...cmd], opts)
  t.false(existsSync(join(h.root(), id)), `sandbox ${id} state removed after --rm`)
  t.deepEqual(cgroupDirsOf(id, SANDBOX_CGROUP_PARENT), [], `sandbox ${id} cgroups removed`)
  t.deepEqual(processesOf(id, SANDBOX_CGROUP_PARENT), [], `no process of sandbox ${id} left`)
  return r
}

h.it('sandbox: the command is PID 1 and has a hostname', async (t) => {
  const r = await sandbox(t, ['sh', '-c', 'echo $$; hostname'])
  t.is(r.code, 0, describe(r))
  const [pid, host] = r.stdout.trim().split('\n')
  t.is(pid, '1')
  t.truthy(host && host.length > 0, 'a hostname is printed')
})

h.it('sandbox: the network namespace has only lo', async (t) => {
  const r = await sandbox(t, ['sh', '-c', 'tail -n +3 /proc/net/dev | cut -d: -f1'])
  t.is(r.code, 0, describe(r))
  t.is(r.stdout.trim(), 'lo')
})

h.it('sandbox: /usr is read-only', async (t) => {
  const probe = `/usr/.lxts-probe-${randomBytes(4).toString('hex')}`
  t.teardown(() => rmSync(probe, { force: true })) // should never exist; never leave it on the host
  const r = await sandbox(t, ['sh', '-c', `touch ${probe} 2>&1; echo rc=$?`])
  t.is(r.code, 0, describe(r))
  t.notRegex(r.stdout, /rc=0/, `writing ${probe} must fail: ${r.stdout}`)
  t.regex(r.stdout, /Read-only file system|Permission denied/)
  t.false(existsSync(probe), 'nothing was written to the host /usr')
})

h.it('sandbox: /tmp is private', async (t) => {
  const probe = `/tmp/lxts-sbx-${randomBytes(4).toString('hex')}`
  t.teardown(() => rmSync(probe, { force: true }))
  const r = await sandbox(t, ['sh', '-c', `echo hi > ${probe} && cat ${probe}`])
  t.is(r.code, 0, describe(r))
  t.is(r.stdout, 'hi\n', 'the sandbox can write its /tmp')
  t.false(existsSync(probe), 'the file does not appear in the host /tmp')
})

h.it('sandbox: exit status propagates', async (t) => {
  const r = await sandbox(t, ['sh', '-c', 'exit 42'])
  t.is(r.code, 42, describe(r))
})

h.it('sandbox: stdin and stdout pass through', async (t) => {
  const r = await sandbox(t, ['cat'], { input: 'piped\n' })
  t.is(r.code, 0, describe(r))
  t.is(r.stdout, 'piped\n')
})

h.it('the shared /lxts parent goes with the last sandbox, whichever create made it', async (t) => {
  const [a, b] = [newId(), newId()]
  h.track(a)
  h.track(b)
  // a's create makes /lxts (when nothing else uses it); b joins it; a is deleted first.
  t.is((await h.cli(['run', '-d', a, '--', 'sleep', '100'])).code, 0)
  t.is((await h.cli(['run', '-d', b, '--', 'sleep', '100'])).code, 0)
  t.is((await h.cli(['delete', '--force', a])).code, 0)
  t.is((await h.cli(['delete', '--force', b])).code, 0)
  // Another spec file may be using /lxts right now: a parent that remains must have children.
  for (const m of cgroupMounts()) {
    const parent = join(m.path, SANDBOX_CGROUP_PARENT)
    if (!existsSync(parent)) continue
    const children = readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory())
    t.true(children.length > 0, `${parent} is left empty`)
  }
})
