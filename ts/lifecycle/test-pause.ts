/**
 * TEST-ONLY fault injection: with `LXTS_TEST_PAUSE_AT=<step>` in the environment, the process
 * stops itself (SIGSTOP) when it reaches that step, so a test can SIGKILL it at exactly that
 * point (test/integration/faults.spec.ts). Unset (always, outside tests) it does nothing.
 */

/** The named steps a test can stop lxts at. */
export type PauseStep = 'create:claimed' | 'create:spawned' | 'create:recorded' | 'start:opening' | 'delete:killed'

/** Stop this process if `LXTS_TEST_PAUSE_AT` names `step`. */
export function testPause(step: PauseStep): void {
  if (process.env['LXTS_TEST_PAUSE_AT'] === step) process.kill(process.pid, 'SIGSTOP')
}
