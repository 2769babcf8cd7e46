/**
 * Shared pieces of the engine specs (podman, containerd, CRI): a private work dir, an lxts
 * wrapper that logs every argv the engine sends, a busybox image tarball and OCI image archive,
 * process running, and a cleanup that removes every mount, cgroup and dir the run made even after a failure.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestFn } from 'ava'
import { cgroupMounts } from '../helpers/bundle.js'
import { integrationSkipReason, type Register, REPO } from '../helpers/env.js'
import { copyRootfs } from '../helpers/rootfs.js'

/** Path of `cmd` on $PATH (or `cmd` itself when it is a path), or undefined. */
export function which(cmd: string): string | undefined {
  if (cmd.includes('/')) return existsSync(cmd) ? cmd : undefined
  for (const dir of (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = join(dir, cmd)
    if (existsSync(p)) return p
  }
  return undefined
}

/**
 * `test.serial`, or `test.serial.skip` with the reason printed when root/busybox or one of
 * `tools` is missing. CI (LXTS_REQUIRE_INTEGRATION=1) installs the engines: there a skip fails.
 */
export function engineTest(test: TestFn, tools: string[], install = 'apt-get install podman containerd'): { it: Register; enabled: boolean } {
  const missing = tools.filter((c) => which(c) === undefined)
  const reason = integrationSkipReason() ?? (missing.length > 0 ? `${missing.join(', ')} not installed (${install})` : undefined)
  if (reason === undefined) return { it: (title, impl) => test.serial(title, impl), enabled: true }
  if (process.env['LXTS_REQUIRE_INTEGRATION'] === '1') throw new Error(`LXTS_REQUIRE_INTEGRATION=1 but ${reason}`)
  process.stderr.write(`\n  SKIPPED: ${reason}\n\n`)
  return { it: (title, impl) => test.serial.skip(`${title} (skipped: ${reason})`, impl), enabled: false }
}

/** A private work dir with the lxts wrapper and a busybox rootfs tarball. */
export interface Work {
  dir: string
  /** The wrapper engines run as their runtime binary. */
  wrapper: string
  /** Every argv the wrapper received, one line each. */
  argvLog: string
  /** A tarball of the busybox rootfs (plus /noexec.sh, mode 644). */
  rootfsTar: string
}

/** Make the work dir. `extraArgs(dir)` go before the engine's own (e.g. a private `--root`). */
export function makeWork(prefix: string, extraArgs: (dir: string) => string[] = () => []): Work {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)))
  const argvLog = join(dir, 'argv.log')
  const wrapper = join(dir, 'lxts')
  const extra = extraArgs(dir).map(sq).join(' ')
  writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${process.execPath}' '${join(REPO, 'bin', 'lxts.js')}' ${extra} "$@"\n`)
  chmodSync(wrapper, 0o755)
  const rootfs = join(dir, 'rootfs')
  copyRootfs(rootfs)
  writeFileSync(join(rootfs, 'noexec.sh'), '#!/bin/sh\necho never\n', { mode: 0o644 })
  const rootfsTar = join(dir, 'rootfs.tar')
  execFileSync('tar', ['-C', rootfs, '-cf', rootfsTar, '.'])
  rmSync(rootfs, { recursive: true, force: true })
  return { dir, wrapper, argvLog, rootfsTar }
}

/** Write `data` as a content-addressed blob of an OCI layout; return its descriptor fields. */
function blob(layout: string, data: Buffer): { digest: string; size: number } {
  const hex = createHash('sha256').update(data).digest('hex')
  writeFileSync(join(layout, 'blobs', 'sha256', hex), data)
  return { digest: `sha256:${hex}`, size: data.length }
}

/**
 * An OCI image archive (for `ctr images import`) of the busybox rootfs, named `name`, whose
 * config runs `cmd`: neither a registry nor another engine is needed. Returns its path.
 */
export async function ociArchive(w: Work, name: string, cmd: string[]): Promise<string> {
  const base = join(w.dir, `oci-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`)
  const layout = `${base}.d`
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true })
  const layer = blob(layout, readFileSync(w.rootfsTar))
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const config = blob(layout, Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', config: { Cmd: cmd }, rootfs: { type: 'layers', diff_ids: [layer.digest] } })))
  const manifest = blob(
    layout,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      }),
    ),
  )
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  const annotations = { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name.replace(/^.*:/, '') }
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations }] }))
  const tar = `${base}.tar`
  const r = await run(['tar', '-C', layout, '-cf', tar, 'oci-layout', 'index.json', 'blobs'])
  if (r.code !== 0) throw new Error(show(['tar'], r))
  rmSync(layout, { recursive: true, force: true })
  return tar
}

/** What a command did. */
export interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** One line saying what happened, for assertion messages. */
export function show(argv: string[], r: Run): string {
  return `${argv.join(' ')} → code=${r.code} signal=${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`
}

/** Run a command; `input` is written to its stdin (closed after), killed after `timeout` ms. */
export function run(argv: string[], opts: { input?: string | undefined; env?: NodeJS.ProcessEnv | undefined; timeout?: number; keepStdinOpen?: boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv
    if (cmd === undefined) return reject(new Error('empty argv'))
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdin.on('error', () => {})
    if (opts.input !== undefined) child.stdin.write(opts.input)
    // `script` ends its session when its stdin reaches EOF: keep it open until the child exits
    if (!opts.keepStdinOpen) child.stdin.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 60_000)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      child.stdin.destroy()
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** Run `command` (a shell line) under `script` so it gets a pty on its stdin/stdout. */
export function runInPty(command: string, env?: NodeJS.ProcessEnv | undefined): Promise<Run> {
  return run(['script', '-qec', command, '/dev/null'], { env, keepStdinOpen: true })
}

/** Quote one word for a shell line. */
export function sq(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/** Mount points under `dir` (deepest first). */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\040/g, ' '))
    .filter((mp) => mp === dir || mp.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length)
}

/** Processes (other than this one) whose command line mentions `dir`: engine leftovers. */
export function processesMentioning(dir: string): number[] {
  const pids: number[] = []
  for (const ent of readdirSync('/proc')) {
    if (!/^\d+$/.test(ent) || Number(ent) === process.pid) continue
    try {
      if (readFileSync(`/proc/${ent}/cmdline`, 'utf8').includes(dir)) pids.push(Number(ent))
    } catch {
      // raced with exit
    }
  }
  return pids
}

/**
 * Kill what an engine left running for this work dir (its processes name it: shims, conmon),
 * returning each as a leak, plus every mount still under it.
 */
export function killStragglers(dir: string): string[] {
  const leaks: string[] = []
  for (const pid of processesMentioning(dir)) {
    leaks.push(`process ${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`)
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
  return [...leaks, ...mountsUnder(dir).map((m) => `mount ${m}`)]
}

/** SIGTERM a daemon we started, SIGKILL after 10 s; a leak line if it had to be killed. */
export async function stopDaemon(daemon: ChildProcess): Promise<string[]> {
  if (daemon.exitCode !== null) return []
  const exited = new Promise((resolve) => daemon.once('exit', resolve))
  daemon.kill('SIGTERM')
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))])
  if (daemon.exitCode !== null || daemon.signalCode !== null) return []
  daemon.kill('SIGKILL')
  return ['the daemon ignored SIGTERM']
}

/** Unmount (lazily) whatever the engine left under `dir`, then remove it. */
export function removeWork(dir: string): string[] {
  const left: string[] = []
  for (const mp of mountsUnder(dir)) {
    left.push(`mount ${mp}`)
    try {
      execFileSync('umount', ['-l', mp], { stdio: 'ignore' })
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true })
  return left
}

/** Remove cgroup directory `path` (relative to each hierarchy) and its children, deepest first. */
export function removeCgroupTree(path: string): string[] {
  const left: string[] = []
  for (const m of cgroupMounts()) {
    const top = join(m.path, path)
    if (!existsSync(top)) continue
    const dirs = execFileSync('find', [top, '-depth', '-type', 'd'], { encoding: 'utf8' }).split('\n').filter(Boolean)
    for (const d of dirs) {
      try {
        rmdirSync(d)
      } catch {
        left.push(d)
      }
    }
  }
  return left
}

/** The memory limit (bytes) and pids limit of cgroup `path`, v1 first (this host is hybrid), else v2. */
export function cgroupLimits(path: string): { memory: string | undefined; pids: string | undefined } {
  const read = (p: string): string | undefined => (existsSync(p) ? readFileSync(p, 'utf8').trim() : undefined)
  let memory: string | undefined
  let pids: string | undefined
  for (const m of cgroupMounts()) {
    const d = join(m.path, path)
    memory ??= read(join(d, 'memory.limit_in_bytes')) ?? read(join(d, 'memory.max'))
    pids ??= read(join(d, 'pids.max'))
  }
  return { memory, pids }
}
