/**
 * Rootless: lxts run by an unprivileged user (`nobody`, through setpriv). The sandbox gets a
 * user namespace whose root is the caller; an OCI bundle from `lxts spec --rootless` goes
 * through create, start, exec, ps, kill and delete; no cgroup is made unless the config asks
 * for limits (then the cgroup error is the answer); the default state root is the caller's
 * and refused when someone else could write it.
 */
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { processAlive } from '../helpers/bundle.js'
import { copyRootfs } from '../helpers/rootfs.js'
import { describe, lxts, type CliResult } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)
const NOBODY = 65534
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--']

/** Gone, or a zombie awaiting this host's PID 1 (an orphan's new parent here), which reaps late. */
const ended = (pid: number): boolean => !processAlive(pid)

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

/** A bundle of nobody's from `lxts spec --rootless`, `edit`ed (not a terminal by default). */
async function rootlessBundle(
  t: ExecutionContext,
  edit: (c: { process: Record<string, unknown>; linux: Record<string, unknown>; mounts: unknown[] }) => void,
): Promise<{ dir: string; state: string; as: (args: string[]) => Promise<CliResult> }> {
  const dir = nobodyDir(t)
  copyRootfs(join(dir, 'rootfs'))
  execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, join(dir, 'rootfs')])
  const state = join(dir, 'state')
  const as = (args: string[]): Promise<CliResult> => asNobody(state, args, { cwd: dir })
  t.is((await as(['spec', '--rootless'])).code, 0)
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { process: Record<string, unknown>; linux: Record<string, unknown>; mounts: unknown[] }
  config.process['terminal'] = false
  edit(config)
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  return { dir, state, as }
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
  const { dir, state, as } = await rootlessBundle(t, (c) => (c.process['args'] = ['sleep', '60']))
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
  // kill --all without cgroups: the members of the init's own pid namespace (TERM: the init,
  // a sleep as pid 1, ignores it; the exec'd sleep dies)
  await ok(['kill', '--all', 'c1', 'TERM'])
  const execd = pids.find((p) => p !== pid) ?? 0
  for (let i = 0; i < 50 && !ended(execd); i++) await new Promise((r) => setTimeout(r, 20))
  t.true(ended(execd), "the exec'd process has ended")
  t.false(ended(pid), 'the init lives on')
  await ok(['delete', '--force', 'c1'])
  t.deepEqual(readdirSync(state), [])
  for (const p of pids) t.true(ended(p), `process ${p} has not ended`)
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
  // an idmapped mount needs the host's CAP_SYS_ADMIN: refused, naming the mount
  delete config.linux['resources']
  ;(config as unknown as { mounts: unknown[] }).mounts.push({ destination: '/mnt', type: 'bind', source: dir, options: ['rbind', 'idmap'] })
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  const idmapped = await asNobody(state, ['create', '-b', dir, 'c6'], { cwd: dir })
  t.regex(idmapped.stderr, /mounts\[\d+\]: idmapped mounts need the host's CAP_SYS_ADMIN.*ERR_LXTS_UNSUPPORTED/, describe(idmapped))
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

h.it('rootless: oomScoreAdj is applied (the helper passes it on at clone), and delete --force of a corrupt state ends the init it recorded', async (t) => {
  const { dir, state, as } = await rootlessBundle(t, (c) => {
    c.process['args'] = ['sleep', '60']
    c.process['oomScoreAdj'] = 321
  })
  const c = await as(['create', '-b', dir, 'c4'])
  t.is(c.code, 0, describe(c))
  const pid = (JSON.parse((await as(['state', 'c4'])).stdout) as { pid: number }).pid
  t.is(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim(), '321')
  writeFileSync(join(state, 'c4', 'state.json'), '{ not json')
  const d = await as(['delete', '--force', 'c4'])
  t.is(d.code, 0, describe(d))
  t.true(ended(pid), 'the init has ended')
  t.deepEqual(readdirSync(state), [])
})

h.it('rootless: a state root another user owns is refused by every verb, and a container without its own pid namespace is refused', async (t) => {
  const dir = nobodyDir(t)
  const theirs = join(dir, 'theirs')
  mkdirSync(join(theirs, 'web'), { recursive: true }) // root's, as another user's would be
  writeFileSync(join(theirs, 'web', 'state.json'), '{}')
  for (const args of [['list'], ['state', 'web'], ['delete', '--force', 'web']]) {
    const r = await asNobody(theirs, args, { cwd: dir })
    t.not(r.code, 0, describe(r))
    t.regex(r.stderr, /is not a directory of ours/, describe(r))
  }
  copyRootfs(join(dir, 'rootfs'))
  const state = join(dir, 'state')
  t.is((await asNobody(state, ['spec', '--rootless'], { cwd: dir })).code, 0)
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { process: { terminal: boolean }; linux: { namespaces: { type: string }[] } }
  config.process.terminal = false
  config.linux.namespaces = config.linux.namespaces.filter((n) => n.type !== 'pid')
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  const r = await asNobody(state, ['create', '-b', dir, 'c5'], { cwd: dir })
  t.regex(r.stderr, /needs a new pid namespace.*ERR_LXTS_UNSUPPORTED/, describe(r))
  t.false(existsSync(join(state, 'c5')), 'refused before anything was made')
})
