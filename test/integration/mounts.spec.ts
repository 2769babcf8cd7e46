/**
 * Config features that reach the kernel: bind mounts (ro, rw, file), tmpfs over a readonly root,
 * cwd creation, oomScoreAdj, sysctl (namespaced, never the host's), extra device nodes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import type { TestConfig } from '../helpers/bundle.js'
import { describe, type CliResult } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)
const sh = (script: string): string[] => ['sh', '-c', script]

async function inside(t: ExecutionContext, args: string[], edit?: (c: TestConfig) => void, code = 0): Promise<CliResult> {
  const b = h.bundle(args, edit)
  const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
  t.is(r.code, code, describe(r))
  return r
}

function hostDir(t: ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'lxts-hostdir-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

h.it('bind mounts: ro dir is readable and not writable; rw dir writes reach the host; file binds work', async (t) => {
  const ro = hostDir(t)
  const rw = hostDir(t)
  writeFileSync(join(ro, 'f'), 'from-host\n')
  writeFileSync(join(ro, 'single'), 'single-file\n')
  const r = await inside(t, sh('cat /ro/f; touch /ro/x 2>/dev/null && echo RO-WRITABLE; echo from-inside > /rw/g; cat /etc/single'), (c) => {
    c.mounts.push(
      { destination: '/ro', type: 'bind', source: ro, options: ['rbind', 'ro'] },
      { destination: '/rw', type: 'bind', source: rw, options: ['rbind', 'rw'] },
      { destination: '/etc/single', type: 'bind', source: join(ro, 'single'), options: ['bind', 'ro'] },
    )
  })
  t.is(r.stdout, 'from-host\nsingle-file\n')
  t.is(readFileSync(join(rw, 'g'), 'utf8'), 'from-inside\n', 'a write through the rw bind reaches the host')
  t.false(existsSync(join(ro, 'x')))
})

h.it('a tmpfs on /tmp is writable under a readonly root, with its options', async (t) => {
  const r = await inside(t, sh('echo hi > /tmp/f && cat /tmp/f; grep " /tmp " /proc/self/mountinfo'), (c) => {
    c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=1m', 'mode=1777'] })
  })
  t.regex(r.stdout, /^hi\n/)
  t.regex(r.stdout, / \/tmp \S*nosuid/)
  t.regex(r.stdout, /size=1024k/)
})

h.it('mounts with noexec/nosuid/nodev flags are applied', async (t) => {
  const r = await inside(t, sh('grep " /scratch " /proc/self/mountinfo'), (c) => {
    c.mounts.push({ destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'ro'] })
  })
  const opts = r.stdout.split(' ')[5]?.split(',') ?? []
  for (const o of ['ro', 'nosuid', 'nodev', 'noexec']) t.true(opts.includes(o), `${o} in ${r.stdout}`)
})

h.it('a missing cwd is created inside the rootfs (runc behaviour)', async (t) => {
  const r = await inside(t, ['pwd'], (c) => {
    c.root.readonly = false
    c.process.cwd = '/work/deep/dir'
  })
  t.is(r.stdout, '/work/deep/dir\n')
})

h.it('process.oomScoreAdj is applied', async (t) => {
  const r = await inside(t, ['cat', '/proc/self/oom_score_adj'], (c) => {
    ;(c.process as Record<string, unknown>)['oomScoreAdj'] = 123
  })
  t.is(r.stdout.trim(), '123')
})

h.it('linux.sysctl sets the container’s namespaced value and never the host’s', async (t) => {
  const hostBefore = readFileSync('/proc/sys/kernel/domainname', 'utf8')
  t.teardown(() => {
    if (readFileSync('/proc/sys/kernel/domainname', 'utf8') !== hostBefore) writeFileSync('/proc/sys/kernel/domainname', hostBefore)
  })
  const r = await inside(t, ['cat', '/proc/sys/kernel/domainname'], (c) => {
    c.linux['sysctl'] = { 'kernel.domainname': 'lxts.test' }
  })
  t.is(r.stdout.trim(), 'lxts.test')
  t.is(readFileSync('/proc/sys/kernel/domainname', 'utf8'), hostBefore, 'host domainname unchanged')
})

h.it('linux.devices creates the requested device node', async (t) => {
  const r = await inside(t, ['ls', '-l', '/dev/lxts-null'], (c) => {
    c.linux['devices'] = [{ path: '/dev/lxts-null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }]
  })
  t.regex(r.stdout, /^crw-rw-rw-\s+1\s+root\s+root\s+1,\s+3 .*\/dev\/lxts-null$/m)
})
