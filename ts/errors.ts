/**
 * Errors of lxts. Every failure surfaces as an {@link LxtsError} with a stable `code`;
 * callers branch on the code, never on the message.
 */

/** Stable error codes. The Rust ones mirror `crates/lxts-core/src/error.rs`. Never rename one. */
export type ErrorCode =
  | 'ERR_LXTS_INVALID_CONFIG'
  | 'ERR_LXTS_INVALID_ID'
  | 'ERR_LXTS_BUNDLE'
  | 'ERR_LXTS_EXISTS'
  | 'ERR_LXTS_NOT_FOUND'
  | 'ERR_LXTS_INVALID_STATE'
  | 'ERR_LXTS_STATE_CORRUPT'
  | 'ERR_LXTS_NATIVE_UNAVAILABLE'
  | 'ERR_LXTS_HELPER'
  | 'ERR_LXTS_UNSUPPORTED'
  | 'ERR_LXTS_USAGE'
  | 'ERR_LXTS_TIMEOUT'
  | 'ERR_LXTS_SYSCALL'
  | 'ERR_LXTS_MOUNT'
  | 'ERR_LXTS_UNSAFE_PATH'
  | 'ERR_LXTS_NAMESPACE'
  | 'ERR_LXTS_CGROUP'
  | 'ERR_LXTS_EXEC_NOT_FOUND'
  | 'ERR_LXTS_EXEC_FAILED'
  | 'ERR_LXTS_NO_SUCH_PROCESS'
  | 'ERR_LXTS_PROCESS'
  | 'ERR_LXTS_PROTOCOL'
  | 'ERR_LXTS_HOOK'

/** Every {@link ErrorCode}, for membership checks. */
export const ERROR_CODES: readonly ErrorCode[] = [
  'ERR_LXTS_INVALID_CONFIG',
  'ERR_LXTS_INVALID_ID',
  'ERR_LXTS_BUNDLE',
  'ERR_LXTS_EXISTS',
  'ERR_LXTS_NOT_FOUND',
  'ERR_LXTS_INVALID_STATE',
  'ERR_LXTS_STATE_CORRUPT',
  'ERR_LXTS_NATIVE_UNAVAILABLE',
  'ERR_LXTS_HELPER',
  'ERR_LXTS_UNSUPPORTED',
  'ERR_LXTS_USAGE',
  'ERR_LXTS_TIMEOUT',
  'ERR_LXTS_SYSCALL',
  'ERR_LXTS_MOUNT',
  'ERR_LXTS_UNSAFE_PATH',
  'ERR_LXTS_NAMESPACE',
  'ERR_LXTS_CGROUP',
  'ERR_LXTS_EXEC_NOT_FOUND',
  'ERR_LXTS_EXEC_FAILED',
  'ERR_LXTS_NO_SUCH_PROCESS',
  'ERR_LXTS_PROCESS',
  'ERR_LXTS_PROTOCOL',
  'ERR_LXTS_HOOK',
]

/** Extra context an error may carry. */
export interface LxtsErrorDetails {
  /** Kernel errno when a syscall failed. */
  errno?: number
  /** The syscall that failed (`mount`, `pidfd_open`, …). */
  syscall?: string
  /** The file or path the failure is about. */
  path?: string
  /** The config field the failure is about (`process.args`, `mounts[3].destination`). */
  field?: string
  /** The underlying error. */
  cause?: unknown
  /** Every problem found, when several were collected (config validation). */
  issues?: readonly ConfigIssue[]
}

/** One problem found in a config, naming its field. */
export interface ConfigIssue {
  /** `ERR_LXTS_INVALID_CONFIG`, `ERR_LXTS_UNSUPPORTED` or `ERR_LXTS_USAGE`. */
  code: ErrorCode
  /** Field path such as `process.args` or `linux.namespaces[2].type`. */
  field: string
  /** What is wrong, without the field name. */
  message: string
}

/** An lxts failure with a stable {@link ErrorCode}. */
export class LxtsError extends Error {
  /** Stable code to branch on. */
  readonly code: ErrorCode
  /** Kernel errno when a syscall failed. */
  declare readonly errno?: number
  /** The syscall that failed. */
  declare readonly syscall?: string
  /** The file or path the failure is about. */
  declare readonly path?: string
  /** The config field the failure is about. */
  declare readonly field?: string
  /** Every problem found, when several were collected (config validation). */
  declare readonly issues?: readonly ConfigIssue[]

  constructor(code: ErrorCode, message: string, details: LxtsErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'LxtsError'
    this.code = code
    if (details.errno !== undefined) this.errno = details.errno
    if (details.syscall !== undefined) this.syscall = details.syscall
    if (details.path !== undefined) this.path = details.path
    if (details.field !== undefined) this.field = details.field
    if (details.issues !== undefined) this.issues = details.issues
  }
}

/** Whether `code` is one of lxts's codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code)
}

/** Whether `err` is an {@link LxtsError}, optionally with the given code. */
export function isLxtsError(err: unknown, code?: ErrorCode): err is LxtsError {
  return err instanceof LxtsError && (code === undefined || err.code === code)
}

/**
 * Turn anything thrown by the native binding (or a helper report) into an {@link LxtsError}.
 * Unknown codes become `fallback`; errno/syscall/path are kept when present.
 */
export function fromNative(err: unknown, fallback: ErrorCode = 'ERR_LXTS_SYSCALL'): LxtsError {
  if (err instanceof LxtsError) return err
  const o = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>
  const code = isErrorCode(o['code']) ? o['code'] : fallback
  const message = typeof o['message'] === 'string' ? o['message'] : String(err)
  const details: LxtsErrorDetails = { cause: err }
  if (typeof o['errno'] === 'number') details.errno = o['errno']
  if (typeof o['syscall'] === 'string') details.syscall = o['syscall']
  if (typeof o['path'] === 'string') details.path = o['path']
  return new LxtsError(code, message, details)
}

/** Node's errno code of a filesystem error (`ENOENT`), if any. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code
  return undefined
}
