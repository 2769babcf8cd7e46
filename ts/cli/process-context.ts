/** The real {@link CliContext}: this process's fds, signals and the real library. */
import type { CliContext } from './context.js'
import { loadLibrary, type CliLibrary } from './library.js'
import { Logger, sniffLogOptions } from './log.js'
import { writeAll } from './output.js'

/** Signals a foreground `run` leaves to the monitor (which forwards them to the container). */
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** Writes to stderr, swallowing failures (stderr may be closed; there is nowhere else to report). */
function writeStderr(text: string): void {
  try {
    writeAll(2, text)
  } catch {
    // nothing left to tell
  }
}

/** Builds the context for `lxts` running as a process with these arguments. */
export function processContext(args: readonly string[]): CliContext {
  let library: Promise<CliLibrary> | undefined
  const logger = new Logger(sniffLogOptions(args), (error) => {
    writeStderr(`lxts: cannot write the log file: ${error instanceof Error ? error.message : String(error)}\n`)
  })
  return {
    library: () => (library ??= loadLibrary()),
    // read on use: containerd's shim runs `delete --force` from the removed bundle dir, where
    // process.cwd() throws ENOENT; verbs that never resolve a relative path must still work
    get cwd(): string {
      return process.cwd()
    },
    out: (text) => writeAll(1, text),
    err: writeStderr,
    logger,
    ignoreSignals: () => {
      const ignore = (): void => {}
      for (const signal of FORWARDED_SIGNALS) process.on(signal, ignore)
      return () => {
        for (const signal of FORWARDED_SIGNALS) process.off(signal, ignore)
      }
    },
    randomHex: (bytes) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex'),
    exitCode: 0,
  }
}
