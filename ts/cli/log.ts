/**
 * The `--log FILE` / `--log-format text|json` log. Engines read it after a failure:
 * containerd reports the last `"level":"error"` line's `msg` to the user.
 */
import { appendFileSync } from 'node:fs'

/** The log formats runc accepts. */
export const LOG_FORMATS = ['text', 'json'] as const

/** One of {@link LOG_FORMATS}. */
export type LogFormat = (typeof LOG_FORMATS)[number]

/** Log levels lxts writes. */
export type LogLevel = 'debug' | 'error'

/** Where and how to log; without `file` nothing is written. */
export interface LogOptions {
  file?: string
  format: LogFormat
  debug: boolean
}

/** Extra key/values written next to `msg` (the error code, path, syscall…). */
export type LogFields = Readonly<Record<string, string | number>>

/** Quotes a value the way logrus' text formatter does when needed. */
function textValue(value: string | number): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value)
}

/** Formats one line (with its newline) in the given format. */
export function formatLogLine(format: LogFormat, level: LogLevel, msg: string, fields: LogFields, time: Date): string {
  const stamp = time.toISOString()
  if (format === 'json') return `${JSON.stringify({ level, msg, ...fields, time: stamp })}\n`
  const extra = Object.entries(fields).map(([key, value]) => ` ${key}=${textValue(value)}`)
  return `time=${JSON.stringify(stamp)} level=${level} msg=${JSON.stringify(msg)}${extra.join('')}\n`
}

/** Writes log lines to the `--log` file, if any. */
export class Logger {
  #options: LogOptions
  readonly #onWriteError: (error: unknown) => void

  /** `onWriteError` hears about a log file that cannot be appended to (the CLI warns on stderr). */
  constructor(options: LogOptions, onWriteError: (error: unknown) => void) {
    this.#options = options
    this.#onWriteError = onWriteError
  }

  /** Switches to the options yargs parsed (the constructor gets the ones sniffed from raw args). */
  configure(options: LogOptions): void {
    this.#options = options
  }

  /** Logs an error line (always, when a log file is set). */
  error(msg: string, fields: LogFields = {}): void {
    this.#write('error', msg, fields)
  }

  /** Logs a debug line when `--debug` is set. */
  debug(msg: string, fields: LogFields = {}): void {
    if (this.#options.debug) this.#write('debug', msg, fields)
  }

  #write(level: LogLevel, msg: string, fields: LogFields): void {
    const file = this.#options.file
    if (file === undefined) return
    try {
      appendFileSync(file, formatLogLine(this.#options.format, level, msg, fields, new Date()))
    } catch (error) {
      this.#onWriteError(error)
    }
  }
}

/**
 * Finds `--log`, `--log-format` and `--debug` among raw arguments, so that even a usage
 * error (found before yargs has produced any argv) lands in the engine's log file.
 */
export function sniffLogOptions(args: readonly string[]): LogOptions {
  const options: LogOptions = { format: 'text', debug: false }
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? ''
    if (arg === '--') break
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? splitOnce(arg) : [arg, undefined]
    const value = (): string | undefined => inline ?? args[++index]
    if (name === '--log') {
      const file = value()
      if (file !== undefined) options.file = file
    } else if (name === '--log-format') {
      const format = value()
      if (format === 'json' || format === 'text') options.format = format
    } else if (name === '--debug') {
      options.debug = inline === undefined || inline === 'true'
    }
  }
  return options
}

function splitOnce(arg: string): [string, string] {
  const at = arg.indexOf('=')
  return [arg.slice(0, at), arg.slice(at + 1)]
}
