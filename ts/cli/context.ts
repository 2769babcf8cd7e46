/** Everything a verb touches outside its arguments, so tests can run verbs without containers. */
import type { CliLibrary } from './library.js'
import type { Logger } from './log.js'

/** The process-level services a verb may use. */
export interface CliContext {
  /** Loads the library on first use (lazily: `--version`, `features` never need it). */
  library(): Promise<CliLibrary>
  /** The directory relative paths (`--bundle`, `--pid-file`) are resolved against. */
  cwd: string
  /** Writes to stdout (fd 1) without touching `process.stdout`. */
  out(text: string): void
  /** Writes to stderr (fd 2) without touching `process.stderr`. */
  err(text: string): void
  /** The `--log` logger, set once global options are parsed. */
  logger: Logger
  /**
   * Ignores SIGINT/SIGTERM/SIGHUP in this process while a foreground container runs (the
   * monitor forwards them to the container). Returns the function that restores them.
   */
  ignoreSignals(): () => void
  /** Random bytes for generated container ids. */
  randomHex(bytes: number): string
  /** The exit code the process ends with; verbs set it, errors override it. */
  exitCode: number
}
