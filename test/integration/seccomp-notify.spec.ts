/**
 * Seccomp user notification on real containers: a rule with SCMP_ACT_NOTIFY makes the init load
 * its filter with SECCOMP_FILTER_FLAG_NEW_LISTENER and send the listener fd, with the OCI
 * "container process state", to the agent at linux.seccomp.listenerPath. The agent here is a
 * small python program (Node cannot receive SCM_RIGHTS): it answers the first notified mkdir
 * with ENOSPC and lets the next one run (SECCOMP_USER_NOTIF_FLAG_CONTINUE); the container's
 * output shows both answers took effect. An agent nobody runs fails create with nothing left.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { cgroupDirsOf, processesOf } from '../helpers/bundle.js'
import { describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { listening, type PyResult } from '../helpers/pty.js'

const h = harness(test)

/**
 * A seccomp agent: accepts one connection, reads the state JSON and the fd (SCM_RIGHTS), prints
 * "STATE <json> FDS <n>", then answers notifications (seccomp_notif is 80 bytes, the response
 * 24) until every user of the filter is gone (POLLHUP): the first with -ENOSPC, the rest with
 * FLAG_CONTINUE. Prints "NOTIF <nr> <answer>" for each.
 */
const AGENT = `
import socket, sys, fcntl, struct, json, select
RECV, SEND, CONTINUE, ENOSPC = 0xc0502100, 0xc0182101, 1, 28
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print("LISTENING", flush=True)
c, _ = s.accept()
msg, fds = b"", []
while True:
    m, f, _, _ = socket.recv_fds(c, 65536, 4)
    msg += m; fds += f
    if not m: break
print("STATE", json.dumps(json.loads(msg)), "FDS", len(fds), flush=True)
fd, n = fds[0], 0
p = select.poll(); p.register(fd, select.POLLIN)
while True:
    ev = p.poll(20000)
    if not ev: print("TIMEOUT", flush=True); break
    if not ev[0][1] & select.POLLIN: print("END", flush=True); break
    req = bytearray(80)
    fcntl.ioctl(fd, RECV, req, True)
    nid, pid, flags, nr = struct.unpack_from("=QIIi", req, 0)
    n += 1
    error, flags = (-ENOSPC, 0) if n == 1 else (0, CONTINUE)
    fcntl.ioctl(fd, SEND, bytearray(struct.pack("=QqiI", nid, 0, error, flags)), True)
    print("NOTIF", nr, "ENOSPC" if n == 1 else "CONTINUE", flush=True)
`

/** x86_64 numbers of the notified calls. */
const MKDIR = [83, 258]

type Obj = Record<string, unknown>

const notifyMkdir = (listenerPath: string): Obj => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  listenerPath,
  listenerMetadata: 'agent-metadata',
  flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
  syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
})

/** A private dir for the agent's socket (a short path: sun_path holds 107 bytes). */
async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-agent-'))
  try {
    await fn(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** What the agent printed: the state it got and the notifications it answered. */
function parseAgent(t: ExecutionContext, r: PyResult): { state: Obj; fds: number; notifs: [number, string][] } {
  const line = r.out.split('\n').find((l) => l.startsWith('STATE '))
  if (line === undefined) throw new Error(`the agent got no state: ${r.out} ${r.err}`)
  const m = /^STATE (.*) FDS (\d+)$/.exec(line)
  t.truthy(m, line)
  const notifs = [...r.out.matchAll(/^NOTIF (\d+) (\w+)$/gm)].map((x): [number, string] => [Number(x[1]), x[2] ?? ''])
  return { state: JSON.parse(m?.[1] ?? '{}') as Obj, fds: Number(m?.[2]), notifs }
}

for (const nnp of [true, false]) {
  h.it(`noNewPrivileges ${String(nnp)}: the agent gets the fd and the state, and its answers take effect`, async (t) => {
    await withDir(async (dir) => {
      const sock = join(dir, 'agent.sock')
      const agent = await listening(AGENT, sock)
      const b = h.bundle(['sh', '-c', 'mkdir /tmp/a; echo "a=$?"; mkdir /tmp/b; echo "b=$?"; ls -d /tmp/b; grep ^Seccomp: /proc/self/status'], (c) => {
        c.root.readonly = false
        c.process.noNewPrivileges = nnp
        c.linux['seccomp'] = notifyMkdir(sock)
      })
      const r = await h.cli(['run', '--rm', '-b', b.dir, b.id])
      t.is(r.code, 0, describe(r))
      const a = parseAgent(t, await agent.done)
      t.regex(r.stdout + r.stderr, /No space left on device/, 'the first mkdir got the agent\'s errno')
      t.regex(r.stdout, /a=1/)
      t.regex(r.stdout, /b=0/, 'the second mkdir ran (SECCOMP_USER_NOTIF_FLAG_CONTINUE)')
      t.regex(r.stdout, /^\/tmp\/b$/m)
      t.regex(r.stdout, /Seccomp:\s+2/)
      t.is(a.fds, 1)
      t.is(a.notifs.length, 2, JSON.stringify(a.notifs))
      for (const [nr] of a.notifs) t.true(MKDIR.includes(nr), `notified syscall ${nr} is mkdir or mkdirat`)
      t.like(a.state, { fds: ['seccompFd'], metadata: 'agent-metadata', state: { id: b.id, bundle: b.dir, status: nnp ? 'created' : 'creating' } })
      t.is(typeof a.state['ociVersion'], 'string')
      const pid = a.state['pid']
      t.true(typeof pid === 'number' && pid > 1, `pid ${String(pid)} is the host pid of the init`)
      t.is((a.state['state'] as Obj)['pid'], pid)
    })
  })
}

h.it('a listenerPath nobody listens on fails create naming it, leaving nothing', async (t) => {
  await withDir(async (dir) => {
    for (const nnp of [true, false]) {
      const b = h.bundle(['true'], (c) => {
        c.process.noNewPrivileges = nnp
        c.linux['seccomp'] = notifyMkdir(join(dir, 'nobody.sock'))
      })
      const r = await h.cli(['create', '-b', b.dir, b.id])
      t.not(r.code, 0, describe(r))
      t.regex(r.stderr, /linux\.seccomp\.listenerPath/)
      t.regex(r.stderr, /nobody\.sock/)
      t.regex(r.stderr, /ERR_LXTS_SYSCALL|connect/)
      t.false(existsSync(join(h.root(), b.id)), 'no state dir')
      t.deepEqual(cgroupDirsOf(b.id), [], 'no cgroup')
      t.deepEqual(processesOf(b.id), [], 'no process')
    }
  })
})

h.it('NOTIFY misuse is refused before anything is made, naming the field', async (t) => {
  const cases: [Obj, RegExp][] = [
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /linux\.seccomp\.listenerPath/],
    [{ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/run/x.sock' }, /linux\.seccomp\.defaultAction/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/x.sock', syscalls: [{ names: ['sendmsg'], action: 'SCMP_ACT_NOTIFY' }] }, /linux\.seccomp\.syscalls\[0\]\.names\[0\]/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'x' }, /linux\.seccomp\.listenerMetadata/],
  ]
  for (const [profile, re] of cases) {
    const b = h.bundle(['true'], (c) => (c.linux['seccomp'] = profile))
    const r = await h.cli(['create', '-b', b.dir, b.id])
    t.not(r.code, 0, describe(r))
    t.regex(r.stderr, re)
    t.false(existsSync(join(h.root(), b.id)))
  }
})
