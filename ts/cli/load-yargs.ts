/**
 * Imports yargs without letting it touch `process.stdout`.
 *
 * yargs' ESM platform shim reads `process.stdout.columns` when it is first imported. That
 * getter creates the stdout stream, and for a pipe libuv then sets O_NONBLOCK on fd 1 —
 * a flag of the open file description, which is shared with the engine (conmon, the
 * containerd shim) and with the container that inherits fd 1. So, for the length of the
 * import, `process.stdout` is shadowed by an object without a width, and restored after.
 */
import type { Argv } from 'yargs'

/** The yargs factory function. */
export type YargsFactory = (args?: readonly string[] | string, cwd?: string) => Argv

/** Imports yargs with `process.stdout` shadowed (help then wraps at yargs' default width). */
export async function loadYargs(): Promise<YargsFactory> {
  const original = Object.getOwnPropertyDescriptor(process, 'stdout')
  Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, value: { columns: undefined } })
  try {
    const module = await import('yargs')
    return module.default
  } finally {
    if (original === undefined) Reflect.deleteProperty(process, 'stdout')
    else Object.defineProperty(process, 'stdout', original)
  }
}
