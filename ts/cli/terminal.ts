/**
 * `lxts run -t` in the foreground: lxts owns the container's terminal. The host terminal
 * goes raw (restored however the run ends), stdin is copied to the pty master and the
 * master to stdout, the size follows the host terminal (SIGWINCH), and the exit status
 * is the container's.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'

import type { CliContainer, CliRuntime, CreateOptions, ExitStatus } from './library.js'

/** Signals sent to lxts that are passed on to the container (keys typed in raw mode reach it as bytes). */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']
/** How long to wait for the last output once the container has exited. */
const DRAIN_MS = 2000

/** A container with an lxts-owned terminal (the library's `Container`). */
interface TerminalContainer extends CliContainer {
  terminal?: Duplex | undefined
  resize?(cols: number, rows: number): Promise<void>
}

/** `process.terminal` of `<bundle>/config.json`, false when unreadable (create reports that). */
export function bundleWantsTerminal(bundle: string | undefined): boolean {
  if (bundle === undefined) return false
  try {
    const c = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { process?: { terminal?: unknown } }
    return c.process?.terminal === true
  } catch {
    return false
  }
}

/** The size of the host terminal (stdout, stderr or stdin), if any is one. */
export function hostSize(): { cols: number; rows: number } | undefined {
  for (const s of [process.stdout, process.stderr, process.stdin]) {
    if ('isTTY' in s && s.isTTY === true && 'columns' in s && typeof s.columns === 'number' && typeof s.rows === 'number') {
      return { cols: s.columns, rows: s.rows }
    }
  }
  return undefined
}

/** Put the host terminal in raw mode; the returned function restores it (idempotent). */
function rawMode(): () => void {
  const stdin = process.stdin
  if (!stdin.isTTY) return () => {}
  stdin.setRawMode(true)
  let done = false
  const restore = (): void => {
    if (done) return
    done = true
    try {
      stdin.setRawMode(false)
    } catch {
      // stdin already closed: Node resets the terminal at exit anyway
    }
  }
  process.once('exit', restore)
  return restore
}

/**
 * Attach the host terminal to `term` (a pty master) while `run()` runs: raw mode, stdin →
 * master → stdout, size now and on SIGWINCH through `resize`, `FORWARDED` signals to `signal`.
 * Everything is undone however `run()` ends. Also usable for `exec -t`.
 */
export async function attachTerminal<T>(
  term: Duplex,
  resize: (cols: number, rows: number) => Promise<void>,
  signal: (sig: NodeJS.Signals) => Promise<void>,
  run: () => Promise<T>,
): Promise<T> {
  let restore = (): void => {}
  const onResize = (): void => {
    const s = hostSize()
    if (s !== undefined) void resize(s.cols, s.rows).catch(() => {})
  }
  const forward = (sig: NodeJS.Signals): void => void signal(sig).catch(() => {})
  const closed = new Promise<void>((r) => term.once('close', () => r()))
  try {
    const s = hostSize()
    if (s !== undefined) await resize(s.cols, s.rows)
    restore = rawMode()
    process.on('SIGWINCH', onResize)
    for (const sig of FORWARDED) process.on(sig, forward)
    process.stdin.pipe(term)
    term.on('data', (chunk: Buffer) => process.stdout.write(chunk))
    const result = await run()
    await Promise.race([closed, new Promise((r) => setTimeout(r, DRAIN_MS).unref())])
    return result
  } finally {
    restore()
    process.off('SIGWINCH', onResize)
    for (const sig of FORWARDED) process.off(sig, forward)
    process.stdin.unpipe()
    process.stdin.pause()
    process.stdin.destroy()
    term.destroy()
  }
}

/** Run the container in the foreground with an lxts-owned terminal. */
export async function runWithTerminal(runtime: CliRuntime, id: string, options: CreateOptions, keep: boolean): Promise<ExitStatus> {
  const container = (await runtime.create(id, { ...options, terminal: true, monitor: true })) as TerminalContainer
  try {
    const term = container.terminal
    if (term === undefined) throw new Error('the library did not return the container terminal')
    return await attachTerminal(
      term,
      async (cols, rows) => container.resize?.(cols, rows),
      async (sig) => container.kill(sig),
      async () => {
        await container.start()
        return container.wait()
      },
    )
  } finally {
    if (!keep) await container.delete({ force: true }).catch(() => {})
  }
}
