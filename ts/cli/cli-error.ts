/** Errors raised by the command line itself (bad usage, unsupported flags), with stable codes. */
import { os } from '../lazy-builtins.js'

/** Codes the CLI raises on its own; library errors keep their own `ERR_LXTS_*` codes. */
export type CliErrorCode = 'ERR_LXTS_USAGE' | 'ERR_LXTS_UNSUPPORTED' | 'ERR_LXTS_EXISTS' | 'ERR_LXTS_INVALID_ARGUMENT' | 'ERR_LXTS_BUNDLE'

/** An error of the command line, shaped like `LxtsError` (a `code`, optionally the offending `field`/`path`). */
export class CliError extends Error {
  readonly code: CliErrorCode
  readonly field?: string
  readonly path?: string

  constructor(code: CliErrorCode, message: string, details: { field?: string; path?: string } = {}) {
    super(message)
    this.name = 'CliError'
    this.code = code
    if (details.field !== undefined) this.field = details.field
    if (details.path !== undefined) this.path = details.path
  }
}

/** What the CLI reads from any error it reports: `LxtsError`, `CliError` and Node system errors all fit. */
export interface ErrorFacts {
  message: string
  code?: string
  errno?: number
  syscall?: string
  path?: string
  field?: string
}

/** Reads the reportable facts of a thrown value without trusting its shape. */
export function errorFacts(value: unknown): ErrorFacts {
  if (!(value instanceof Error)) return { message: String(value) }
  const facts: ErrorFacts = { message: value.message }
  const code = Reflect.get(value, 'code')
  const errno = Reflect.get(value, 'errno')
  const syscall = Reflect.get(value, 'syscall')
  const path = Reflect.get(value, 'path')
  const field = Reflect.get(value, 'field')
  if (typeof code === 'string') facts.code = code
  if (typeof errno === 'number') facts.errno = errno
  if (typeof syscall === 'string') facts.syscall = syscall
  if (typeof path === 'string') facts.path = path
  if (typeof field === 'string') facts.field = field
  return facts
}

/** The symbolic name of an errno value (`ENOENT` for 2 or -2), or the number as text. */
function errnoName(errno: number): string {
  const wanted = Math.abs(errno)
  const entry = Object.entries(os().constants.errno).find(([, value]) => value === wanted)
  return entry === undefined ? String(wanted) : entry[0]
}

/**
 * One line a user can act on: the message, then the code and whichever of field, path,
 * syscall and errno the message does not already name. Engines show the last such line.
 */
export function describeError(facts: ErrorFacts): string {
  const details: string[] = []
  if (facts.code !== undefined) details.push(facts.code)
  if (facts.field !== undefined && !facts.message.includes(facts.field)) details.push(`field ${facts.field}`)
  if (facts.path !== undefined && !facts.message.includes(facts.path)) details.push(`path ${facts.path}`)
  if (facts.syscall !== undefined && !facts.message.includes(facts.syscall)) details.push(`syscall ${facts.syscall}`)
  if (facts.errno !== undefined) {
    const name = errnoName(facts.errno)
    if (!facts.message.includes(name)) details.push(name)
  }
  return details.length === 0 ? facts.message : `${facts.message} (${details.join(', ')})`
}
