/**
 * Terminal test tools shared by terminal.spec, exec-tty.spec and cve.spec: python programs (an
 * engine-like console-socket receiver, an outer pty driving a foreground `-t`) and how to run them.
 */
import { spawn } from 'node:child_process'
import { REPO } from './env.js'

/** Receives one fd on a unix socket, sets the pty size, types `script`, prints all output until EIO. */
export const RECEIVER = `
import socket, sys, os, fcntl, termios, struct, select
path, script = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(1)
print("LISTENING", flush=True)
c, _ = s.accept()
msg, fds, flags, addr = socket.recv_fds(c, 4096, 4)
m = fds[0]
fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack("HHHH", 11, 55, 0, 0))
print("NAME", msg.decode(), "FDS", len(fds), "ISATTY", os.isatty(m), flush=True)
os.write(m, script.encode())
while True:
    r, _, _ = select.select([m], [], [], 20)
    if not r:
        print("<timeout>", flush=True); break
    try:
        d = os.read(m, 4096)
    except OSError:
        break
    if not d: break
    sys.stdout.write(d.decode(errors="replace")); sys.stdout.flush()
`

/** Accepts console-socket connections until killed; keeps each received master open; prints "GOT <name> <n fds>" per connection. */
export const SINK = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(16)
print("LISTENING", flush=True)
keep = []
while True:
    c, _ = s.accept()
    try:
        msg, fds, flags, addr = socket.recv_fds(c, 4096, 4)
    except OSError:
        msg, fds = b"", []
    keep.extend(fds)
    print("GOT", msg.decode(errors="replace"), len(fds), flush=True)
    c.close()
`

/** Runs argv on the slave of a new outer pty (24x80); types steps [wait-for, send, resize]; reports status and termios. */
export const OUTER = `
import os, pty, sys, termios, struct, fcntl, select, time, json
steps = json.loads(sys.argv[1]); argv = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    os.execvp(argv[0], argv)
before = termios.tcgetattr(fd)
out = b""
def pump(t):
    global out
    r, _, _ = select.select([fd], [], [], t)
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            return False
        if not d: return False
        out += d
    return True
for want, send, resize in steps:
    end = time.time() + 20
    while want.encode() not in out and time.time() < end:
        if not pump(0.2): break
    if resize: fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", resize[0], resize[1], 0, 0)); time.sleep(0.3)
    if send: os.write(fd, send.encode())
end = time.time() + 20
while time.time() < end and pump(0.2): pass
after = termios.tcgetattr(fd)
_, status = os.waitpid(pid, 0)
print(json.dumps({"status": os.waitstatus_to_exitcode(status), "same": before == after, "out": out.decode(errors="replace")}))
`

/** What a python program printed and how it ended. */
export interface PyResult {
  code: number | null
  out: string
  err: string
}

/** A running python program: its outcome, and `stop` (SIGKILL, then the outcome). */
export interface PyProcess {
  done: Promise<PyResult>
  stop(): Promise<PyResult>
}

/** Start `python3 args` in the repo (killed after `timeout` ms); `onOut` sees stdout so far after each chunk. */
export function startPython(args: string[], timeout = 60_000, onOut?: (out: string) => void): PyProcess {
  const p = spawn('python3', args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    onOut?.(out)
  })
  p.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const timer = setTimeout(() => p.kill('SIGKILL'), timeout)
  const done = new Promise<PyResult>((resolve, reject) => {
    p.on('error', reject)
    p.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, out, err })
    })
  })
  return {
    done,
    stop: async () => {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
      return done
    },
  }
}

/** Run `python3 args` to completion. */
export function python(args: string[], timeout = 60_000, onOut?: (out: string) => void): Promise<PyResult> {
  return startPython(args, timeout, onOut).done
}

/** Start `program` (RECEIVER, SINK) listening on `sock` with `args`; resolves once it listens. */
export async function listening(program: string, sock: string, args: string[] = [], timeout = 60_000): Promise<PyProcess> {
  let ready = (): void => {}
  const listen = new Promise<void>((r) => (ready = r))
  const p = startPython(['-c', program, sock, ...args], timeout, (out) => out.includes('LISTENING') && ready())
  await Promise.race([listen, p.done])
  return p
}

/** Start the console-socket receiver on `sock`; resolves once it listens, with its outcome. */
export async function receiver(sock: string, script: string, timeout = 60_000): Promise<{ done: Promise<PyResult> }> {
  const p = await listening(RECEIVER, sock, [script], timeout)
  return { done: p.done }
}
