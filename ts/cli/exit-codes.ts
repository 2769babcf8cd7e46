/** The one table from error codes to process exit codes. */

/** Exit code for a usage error (unknown verb or flag, missing argument). */
export const EXIT_USAGE = 2

/** Exit code for any failure not listed in the table (runc exits 1 for every error). */
export const EXIT_FAILURE = 1

/**
 * Exit codes by `ERR_LXTS_*` code. Engines only test for non-zero; the distinct values
 * follow shell conventions where one exists (126/127 as for an `execve` that failed).
 */
const EXIT_CODES: Readonly<Record<string, number>> = {
  ERR_LXTS_USAGE: EXIT_USAGE,
  ERR_LXTS_INVALID_ARGUMENT: EXIT_USAGE,
  ERR_LXTS_EXEC_NOT_FOUND: 127,
  ERR_LXTS_EXEC_FAILED: 126,
}

/** The exit code for an error with this code (or none). */
export function exitCodeFor(code: string | undefined): number {
  if (code === undefined) return EXIT_FAILURE
  return EXIT_CODES[code] ?? EXIT_FAILURE
}

/** The exit code of a container as a shell reports it: the status, or 128 + signal number. */
export function containerExitCode(status: { exitCode: number; signal: number | null }): number {
  return status.signal === null ? status.exitCode : 128 + status.signal
}
