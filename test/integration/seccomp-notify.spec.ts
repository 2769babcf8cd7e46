/**
 * Seccomp user notification on real containers: a rule with SCMP_ACT_NOTIFY makes the init load
 * its filter with SECCOMP_FILTER_FLAG_NEW_LISTENER and send the listener fd, with the OCI
 * "container process state", to the agent at linux.seccomp.listenerPath. The agent here is a
 * small python program (Node cannot receive SCM_RIGHTS): it answers the first notified mkdir
 * with ENOSPC and lets the next one run (SECCOMP_USER_NOTIF_FLAG_CONTINUE); the container's
 * output shows both answers took effect, for `run` (both load points) and `exec`. An agent
 * nobody runs fails create with nothing left; one that hung up fails the hand-over.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { cgroupDirsOf, processesOf } from '../helpers/bundle.js'
import { describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { listening, startPython, type PyResult } from '../helpers/pty.js'

const h = harness(test)

/**
 * A seccomp agent: accepts argv[2] (default 1) connections, each carrying the state JSON and one
 * fd (SCM_RIGHTS), read to EOF: prints "STATE <json> FDS <n>" per connection. Answers
 * notifications on every fd (seccomp_notif is 80 bytes, the response 24) until each one's filter
 * users are gone (POLLHUP): the first with -ENOSPC (all with FLAG_CONTINUE when argv[3] is
 * "continue"), the rest with FLAG_CONTINUE; prints "NOTIF <nr> <answer>".
 */
const AGENT = `
import socket, sys, fcntl, struct, json, select
RECV, SEND, CONTINUE, ENOSPC = 0xc0502100, 0xc0182101, 1, 28
want = int(sys.argv[2]) if len(sys.argv) > 2 else 1
deny_first = len(sys.argv) < 4 or sys.argv[3] != "continue"
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(4)
print("LISTENING", flush=True)
p = select.poll(); p.register(s, select.POLLIN)
got, live, n, keep = 0, 0, 0, []
while got < want or live > 0:
    ev = p.poll(20000)
    if not ev: print("TIMEOUT", flush=True); break
    for fd, e in ev:
        if fd == s.fileno():
            c, _ = s.accept()
            msg, fds = b"", []
            while True:
                m, f, _, _ = socket.recv_fds(c, 65536, 4)
                msg += m; fds += f
                if not m: break
            c.close()
            print("STATE", json.dumps(json.loads(msg)), "FDS", len(fds), flush=True)
            keep += fds; p.register(fds[0], select.POLLIN); got += 1; live += 1
            if got == want: p.unregister(s)
        elif e & select.POLLIN:
            req = bytearray(80)
            fcntl.ioctl(fd, RECV, req, True)
            nid, pid, flags, nr = struct.unpack_from("=QIIi", req, 0)
            n += 1
            deny = deny_first and n == 1
            error, flags = (-ENOSPC, 0) if deny else (0, CONTINUE)
            fcntl.ioctl(fd, SEND, bytearray(struct.pack("=QqiI", nid, 0, error, flags)), True)
            print("NOTIF", nr, "ENOSPC" if deny else "CONTINUE", flush=True)
        else:
            p.unregister(fd); live -= 1
            print("END", flush=True)
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

/** What the agent printed: the states it got (with the fd count) and the notifications it answered. */
function parseAgent(r: PyResult): { states: [Obj, number][]; notifs: [number, string][] } {
  const states = [...r.out.matchAll(/^STATE (.*) FDS (\d+)$/gm)].map((m): [Obj, number] => [JSON.parse(m[1] ?? '{}') as Obj, Number(m[2])])
  if (states.length === 0) throw new Error(`the agent got no state: ${r.out} ${r.err}`)
  const notifs = [...r.out.matchAll(/^NOTIF (\d+) (\w+)$/gm)].map((x): [number, string] => [Number(x[1]), x[2] ?? ''])
  return { states, notifs }
}

const variants = [
  { nnp: true, init: false, userns: false },
  { nnp: false, init: false, userns: false },
  { nnp: true, init: true, userns: false },
  { nnp: false, init: false, userns: true },
]
for (const { nnp, init, userns } of variants) {
  const name = `noNewPrivileges ${String(nnp)}${init ? ', --init' : ''}${userns ? ', user namespace' : ''}`
  h.it(`${name}: the agent gets the fd and the state, and its answers take effect`, async (t) => {
    await withDir(async (dir) => {
      const sock = join(dir, 'agent.sock')
      const agent = await listening(AGENT, sock)
      const script = 'mkdir /tmp/a; echo "a=$?"; mkdir /tmp/b; echo "b=$?"; ls -d /tmp/b; grep ^Seccomp: /proc/self/status; echo "pid1 fds:" $(ls /proc/1/fd); echo "own fds:" $(ls /proc/self/fd)'
      const b = h.bundle(['sh', '-c', script], (c) => {
        c.root.readonly = false
        c.process.noNewPrivileges = nnp
        c.linux['seccomp'] = notifyMkdir(sock)
        if (userns) {
          c.linux.namespaces.push({ type: 'user' })
          c.linux['uidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
          c.linux['gidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
        }
      })
      if (userns) execFileSync('chown', ['-R', '-h', '100000:100000', b.rootfs])
      const r = await h.cli(['run', '--rm', ...(init ? ['--init'] : []), '-b', b.dir, b.id])
      t.is(r.code, 0, describe(r))
      // With --init, PID 1 is lxts's reaper: stdio and its signalfd, no listener socket or notify fd.
      if (init) t.regex(r.stdout, /^pid1 fds: 0 1 2 3$/m)
      t.regex(r.stdout, /^own fds: 0 1 2 3$/m, 'the process has stdio (and ls its directory), neither fd of the hand-over')
      const a = parseAgent(await agent.done)
      t.is(a.states.length, 1)
      const [state, fds] = a.states[0] ?? [{}, 0]
      t.regex(r.stdout + r.stderr, /No space left on device/, 'the first mkdir got the agent\'s errno')
      t.regex(r.stdout, /a=1/)
      t.regex(r.stdout, /b=0/, 'the second mkdir ran (SECCOMP_USER_NOTIF_FLAG_CONTINUE)')
      t.regex(r.stdout, /^\/tmp\/b$/m)
      t.regex(r.stdout, /Seccomp:\s+2/)
      t.is(fds, 1)
      t.is(a.notifs.length, 2, JSON.stringify(a.notifs))
      if (process.arch === 'x64') for (const [nr] of a.notifs) t.true(MKDIR.includes(nr), `notified syscall ${nr} is mkdir or mkdirat`)
      t.like(state, { fds: ['seccompFd'], metadata: 'agent-metadata', state: { id: b.id, bundle: b.dir, status: nnp ? 'created' : 'creating' } })
      t.is(typeof state['ociVersion'], 'string')
      const pid = state['pid']
      t.true(typeof pid === 'number' && pid > 1, `pid ${String(pid)} is the host pid of the init`)
      t.is((state['state'] as Obj)['pid'], pid)
    })
  })
}

h.it('exec: the container\'s notifying filter applies to the exec\'d process, whose fd reaches the agent too', async (t) => {
  await withDir(async (dir) => {
    const sock = join(dir, 'agent.sock')
    const agent = await listening(AGENT, sock, ['2'])
    const b = h.bundle(['sleep', '1000'], (c) => {
      c.root.readonly = false
      c.linux['seccomp'] = notifyMkdir(sock)
    })
    const r = await h.cli(['run', '-d', '-b', b.dir, b.id], { timeout: 15_000 })
    t.is(r.code, 0, describe(r))
    const init = (JSON.parse(readFileSync(join(h.root(), b.id, 'state.json'), 'utf8')) as { pid: number }).pid
    const e = await h.cli(['exec', b.id, 'sh', '-c', 'mkdir /tmp/a; echo "a=$?"; mkdir /tmp/b; echo "b=$?"'])
    t.is(e.code, 0, describe(e))
    t.regex(e.stdout + e.stderr, /No space left on device/)
    t.regex(e.stdout, /a=1/)
    t.regex(e.stdout, /b=0/)
    t.is((await h.cli(['delete', '--force', b.id])).code, 0)
    const a = parseAgent(await agent.done)
    t.is(a.states.length, 2, 'one connection from the init, one from the exec')
    const [fromInit, fromExec] = a.states.map(([s]) => s)
    t.like(fromInit, { pid: init, state: { id: b.id, status: 'created', pid: init } })
    t.like(fromExec, { fds: ['seccompFd'], metadata: 'agent-metadata', state: { id: b.id, status: 'running', pid: init } })
    t.not(fromExec?.['pid'], init, 'the process state names the exec\'d process')
    t.is(a.notifs.length, 2, JSON.stringify(a.notifs))
  })
})

for (const nnp of [true, false]) {
  h.it(`noNewPrivileges ${String(nnp)}: the syscalls lxts itself makes after the hand-over may be notified (close, write, openat, credentials, execve…)`, async (t) => {
    // runc's "important syscalls" case: the agent has the fd before any of them, and lets them run.
    await withDir(async (dir) => {
      const sock = join(dir, 'agent.sock')
      const agent = await listening(AGENT, sock, ['1', 'continue'])
      const b = h.bundle(['sh', '-c', 'echo ran; cat /proc/self/status | grep ^Seccomp:'], (c) => {
        c.process.noNewPrivileges = nnp
        c.linux['seccomp'] = {
          defaultAction: 'SCMP_ACT_ALLOW',
          listenerPath: sock,
          syscalls: [
            {
              names: ['close', 'read', 'write', 'openat', 'open', 'execve', 'fcntl', 'close_range', 'dup2', 'dup3', 'prctl', 'capset', 'setresuid', 'setresgid', 'setgroups'],
              action: 'SCMP_ACT_NOTIFY',
            },
          ],
        }
      })
      const r = await h.cli(['run', '--rm', '-b', b.dir, b.id], { timeout: 30_000 })
      t.is(r.code, 0, describe(r))
      t.regex(r.stdout, /^ran$/m)
      t.regex(r.stdout, /Seccomp:\s+2/)
      const a = parseAgent(await agent.done)
      t.is(a.states.length, 1)
      t.true(a.notifs.length > 5, `the agent answered ${a.notifs.length} notifications`)
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

/** Accepts connections and hangs each up at once, printing "HUNGUP" per connection. */
const HANGUP = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(4)
print("LISTENING", flush=True)
while True:
    c, _ = s.accept(); c.shutdown(socket.SHUT_RDWR); c.close(); print("HUNGUP", flush=True)
`

h.it('noNewPrivileges: the fd goes at start, so an agent that hung up after create fails start naming listenerPath', async (t) => {
  await withDir(async (dir) => {
    const sock = join(dir, 'agent.sock')
    let hung = (): void => {}
    const hungUp = new Promise<void>((r) => (hung = r))
    let ready = (): void => {}
    const listens = new Promise<void>((r) => (ready = r))
    const agent = startPython(['-c', HANGUP, sock], 60_000, (out) => {
      if (out.includes('LISTENING')) ready()
      if (out.includes('HUNGUP')) hung()
    })
    try {
      await Promise.race([listens, agent.done])
      const b = h.bundle(['true'], (c) => (c.linux['seccomp'] = notifyMkdir(sock)))
      const c = await h.cli(['create', '-b', b.dir, b.id])
      t.is(c.code, 0, describe(c))
      await hungUp
      const s = await h.cli(['start', b.id])
      t.not(s.code, 0, describe(s))
      t.regex(s.stderr, /linux\.seccomp\.listenerPath: send the seccomp fd/)
      t.is((await h.cli(['delete', '--force', b.id])).code, 0)
    } finally {
      await agent.stop()
    }
  })
})

h.it('NOTIFY misuse is refused before anything is made, naming the field', async (t) => {
  const cases: [Obj, RegExp][] = [
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /linux\.seccomp\.listenerPath/],
    [{ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/run/x.sock' }, /linux\.seccomp\.defaultAction/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/x.sock', syscalls: [{ names: ['sendmsg'], action: 'SCMP_ACT_NOTIFY' }] }, /linux\.seccomp\.syscalls\[0\]\.names\[0\]/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/x.sock', syscalls: [{ names: ['read', 'shutdown'], action: 'SCMP_ACT_NOTIFY' }] }, /linux\.seccomp\.syscalls\[0\]\.names\[1\]/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'x' }, /linux\.seccomp\.listenerMetadata/],
  ]
  for (const [profile, re] of cases) await h.refusedAtCreate(t, (c) => (c.linux['seccomp'] = profile), re)
})
