/**
 * Config features that reach the kernel: bind mounts (ro, rw, file), tmpfs over a readonly root,
 * cwd creation, oomScoreAdj, sysctl (namespaced, never the host's), extra device nodes.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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

/** A host directory with a tmpfs mounted at its `sub` (unmounted afterwards). */
function withSubmount(t: ExecutionContext): string {
  const src = hostDir(t)
  const sub = join(src, 'sub')
  mkdirSync(sub)
  execFileSync('mount', ['-t', 'tmpfs', 'lxts-test-sub', sub])
  t.teardown(() => execFileSync('umount', [sub]))
  return src
}

/** The per-mount options of the mount at `path`, as the container's mountinfo shows them. */
const mountOpts = (path: string): string => `awk '$5 == "${path}" { print "${path}", $6 }' /proc/self/mountinfo`

h.it('recursive options (rro, rnosuid, rnodev, rnoexec, rnoatime, rnosymfollow) reach every mount of an rbind; plain ones only its top', async (t) => {
  const src = withSubmount(t)
  const rec = ['rbind', 'rro', 'rnosuid', 'rnodev', 'rnoexec', 'rnoatime', 'rnosymfollow']
  const r = await inside(
    t,
    sh(`${mountOpts('/r')}; ${mountOpts('/r/sub')}; ${mountOpts('/p')}; ${mountOpts('/p/sub')}; touch /r/sub/x 2>&1; touch /p/sub/x && echo plain-sub-writable`),
    (c) => {
      c.mounts.push({ destination: '/r', type: 'bind', source: src, options: rec })
      c.mounts.push({ destination: '/p', type: 'bind', source: src, options: ['rbind', 'nosuid', 'nodev', 'noexec', 'noatime', 'nosymfollow'] })
    },
  )
  for (const path of ['/r', '/r/sub']) {
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${path} `)) ?? ''
    t.deepEqual(['ro', 'nosuid', 'nodev', 'noexec', 'noatime', 'nosymfollow'].filter((o) => !line.split(' ')[1]?.split(',').includes(o)), [], line)
  }
  t.regex(r.stdout, /^\/p [^\n]*nosymfollow/m, 'the plain options on the top mount')
  t.regex(r.stdout, /^\/p\/sub rw,relatime$/m, 'and not on its submount')
  t.regex(r.stdout, /\/r\/sub\/x: Read-only file system/)
  t.regex(r.stdout, /^plain-sub-writable$/m)
})

h.it('recursive options on a tmpfs, rrw undoing rbind,ro below, and the generic flags runc knows (lazytime, iversion, silent, nosymfollow)', async (t) => {
  const src = withSubmount(t)
  const r = await inside(t, sh(`${mountOpts('/t')}; ${mountOpts('/w/sub')}; grep " /l " /proc/self/mountinfo`), (c) => {
    c.mounts.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['rnoexec', 'rstrictatime'] })
    c.mounts.push({ destination: '/w', type: 'bind', source: src, options: ['rbind', 'ro', 'rrw'] })
    // iversion and silent as tmpfs data would be EINVAL: they must be flags
    c.mounts.push({ destination: '/l', type: 'tmpfs', source: 'tmpfs', options: ['lazytime', 'iversion', 'silent', 'nosymfollow', 'size=1m'] })
  })
  t.regex(r.stdout, /^\/t rw,noexec$/m, describe(r))
  t.regex(r.stdout, /^\/w\/sub rw,/m, 'rrw: the submount stays writable under rbind,ro')
  t.regex(r.stdout, / \/l [^ ]*nosymfollow/, 'nosymfollow is a mount flag, not tmpfs data')
  t.regex(r.stdout, / - tmpfs tmpfs \S*lazytime/, 'lazytime on the superblock')
})

h.it('a bind of a read-only host mount stays read-only when its options only add flags (nosuid); rw makes it writable', async (t) => {
  const src = hostDir(t)
  execFileSync('mount', ['--bind', src, src])
  t.teardown(() => execFileSync('umount', [src]))
  execFileSync('mount', ['-o', 'remount,bind,ro', src])
  const r = await inside(t, sh('touch /a/x 2>&1; touch /b/y && echo B-WRITABLE'), (c) => {
    c.mounts.push({ destination: '/a', type: 'bind', source: src, options: ['bind', 'nosuid'] })
    c.mounts.push({ destination: '/b', type: 'bind', source: src, options: ['bind', 'rw', 'nosuid'] })
  })
  t.regex(r.stdout, /\/a\/x: Read-only file system/, describe(r))
  t.regex(r.stdout, /^B-WRITABLE$/m, 'rw asked for: writable')
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
