/**
 * Rootless: lxts run by an unprivileged user (`nobody`, through setpriv). The sandbox gets a
 * user namespace whose root is the caller; an OCI bundle from `lxts spec --rootless` goes
 * through create, start, exec, ps, kill and delete; no cgroup is made unless the config asks
 * for limits (then the cgroup error is the answer); the default state root is the caller's
 * and refused when someone else could write it.
 */
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { copyRootfs } from '../helpers/rootfs.js'
import { describe, lxts, type CliResult } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)
const NOBODY = 65534
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--']

/** A directory of nobody's (0755 parents), removed afterwards. */
function nobodyDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-rootless-'))
  execFileSync('chmod', ['0755', dir])
  chownSync(dir, NOBODY, NOBODY)
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** `lxts` as nobody, with `root` as --root (null: the default) and `xdg` as XDG_RUNTIME_DIR. */
function asNobody(root: string | null, args: string[], o: { cwd?: string; xdg?: string } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/tmp' }
  if (o.xdg !== undefined) env['XDG_RUNTIME_DIR'] = o.xdg
  return lxts(root, args, { wrap: AS_NOBODY, env, ...(o.cwd === undefined ? {} : { cwd: o.cwd }) })
}

h.it('lxts run -- CMD as nobody: a user namespace whose root is nobody, its own pid namespace, nothing left', async (t) => {
  const dir = nobodyDir(t)
  const state = join(dir, 'state')
  const r = await asNobody(state, ['run', '--', 'sh', '-c', 'id -u; cat /proc/self/uid_map; echo $$; exit 3'], { cwd: dir })
  t.is(r.code, 3, describe(r))
  const [uid, map, pid] = r.stdout.trim().split('\n')
  t.is(uid, '0')
  t.deepEqual(map?.trim().split(/\s+/), ['0', String(NOBODY), '1'])
  t.is(pid, '1')
  t.deepEqual(readdirSync(state), [], 'the sandbox removed its state')
})

h.it('an OCI bundle from `lxts spec --rootless`: create, start, exec, ps, kill, delete, without cgroups', async (t) => {
  const dir = nobodyDir(t)
  copyRootfs(join(dir, 'rootfs'))
  execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, join(dir, 'rootfs')])
  const state = join(dir, 'state')
  const as = (args: string[]): Promise<CliResult> => asNobody(state, args, { cwd: dir })
  t.is((await as(['spec', '--rootless'])).code, 0)
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { process: { terminal: boolean; args: string[] }; linux: { cgroupsPath?: string } }
  config.process.terminal = false
  config.process.args = ['sleep', '60']
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  const ok = async (args: string[]): Promise<CliResult> => {
    const r = await as(args)
    t.is(r.code, 0, describe(r))
    return r
  }
  await ok(['create', '-b', dir, 'c1'])
  const pid = (JSON.parse((await ok(['state', 'c1'])).stdout) as { pid: number }).pid
  t.is(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).join(' '), `0 ${NOBODY} 1`)
  t.notRegex(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), /c1/, 'no cgroup of its own')
  await ok(['start', 'c1'])
  t.regex((await ok(['exec', 'c1', 'sh', '-c', 'id -u'])).stdout, /^0$/m)
  await ok(['exec', '-d', 'c1', 'sleep', '60'])
  const pids = JSON.parse((await ok(['ps', '--format', 'json', 'c1'])).stdout) as number[]
  t.is(pids.length, 2, `the init and the exec'd sleep, by their pid namespace: ${JSON.stringify(pids)}`)
  await ok(['kill', 'c1', 'KILL'])
  await ok(['delete', '--force', 'c1'])
  t.deepEqual(readdirSync(state), [])
  // Gone, or a zombie awaiting this host's PID 1 (the detached exec's parent), which reaps late.
  const state_ = (p: number): string => {
    try {
      return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.[0] ?? '?'
    } catch {
      return 'gone'
    }
  }
  for (const p of pids) t.true(['gone', 'Z'].includes(state_(p)), `process ${p} is ${state_(p)}`)
})

h.it('rootless: limits need a cgroup nobody can make (refused, nothing left); --rootless true is for unprivileged users', async (t) => {
  const dir = nobodyDir(t)
  copyRootfs(join(dir, 'rootfs'))
  const state = join(dir, 'state')
  t.is((await asNobody(state, ['spec', '--rootless'], { cwd: dir })).code, 0)
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { process: { terminal: boolean }; linux: Record<string, unknown> }
  config.process.terminal = false
  config.linux['resources'] = { memory: { limit: 64 << 20 } }
  config.linux['cgroupsPath'] = `/lxts-test-rootless-${process.pid}`
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  const r = await asNobody(state, ['create', '-b', dir, 'c2'], { cwd: dir })
  t.not(r.code, 0)
  t.regex(r.stderr, /ERR_LXTS_CGROUP.*EACCES|EACCES.*ERR_LXTS_CGROUP/, describe(r))
  t.deepEqual(readdirSync(state), [])
  t.is((await asNobody(state, ['--rootless', 'true', 'list'])).code, 0)
  const asRoot = await lxts(state, ['--rootless', 'true', 'create', '-b', dir, 'c3'])
  t.regex(asRoot.stderr, /--rootless=true as root/, describe(asRoot))
})

h.it('rootless default state root: $XDG_RUNTIME_DIR/lxts, refused when another user could write it', async (t) => {
  const dir = nobodyDir(t)
  const xdg = join(dir, 'xdg')
  mkdirSync(xdg)
  chownSync(xdg, NOBODY, NOBODY)
  const r = await asNobody(null, ['run', '--', 'true'], { xdg })
  t.is(r.code, 0, describe(r))
  t.deepEqual(readdirSync(join(xdg, 'lxts')), [], 'used and left empty')
  const theirs = join(dir, 'theirs')
  mkdirSync(join(theirs, 'lxts'), { recursive: true })
  execFileSync('chmod', ['0777', join(theirs, 'lxts')])
  const refused = await asNobody(null, ['run', '--', 'true'], { xdg: theirs })
  t.not(refused.code, 0)
  t.regex(refused.stderr, /state root .*lxts is not a directory of ours/, describe(refused))
})
