/**
 * Node builtins that only some paths use, loaded on first use. Compiling `child_process`
 * (with `net`), `crypto` or `tty` costs 1-3 ms each at start-up, and `lxts state`,
 * `kill` or `list` use none of them.
 */
import { createRequire } from 'node:module'

const load = createRequire(import.meta.url)

/** `node:child_process`. */
export const childProcess = (): typeof import('node:child_process') => load('node:child_process') as typeof import('node:child_process')
/** `node:crypto`. */
export const nodeCrypto = (): typeof import('node:crypto') => load('node:crypto') as typeof import('node:crypto')
/** `node:tty`. */
export const tty = (): typeof import('node:tty') => load('node:tty') as typeof import('node:tty')
/** A CommonJS `require` (for `.node` files). */
export const nodeRequire = (): NodeJS.Require => load
