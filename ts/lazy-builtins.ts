/**
 * Node builtins that only some paths use, loaded on first use. Compiling `child_process`
 * (with `net`), `crypto`, `tty`, `fs/promises` (which brings readline and the fs watchers),
 * `net` or `os` costs 0.7-3 ms each at start-up, and `lxts state`, `kill` or `list` need
 * few of them. The CLI bundle runs every module's imports when it starts, so a builtin
 * imported at the top of any module is paid by every verb.
 */
import { createRequire } from 'node:module'

const load = createRequire(import.meta.url)

/** `node:child_process`. */
export const childProcess = (): typeof import('node:child_process') => load('node:child_process') as typeof import('node:child_process')
/** `node:crypto`. */
export const nodeCrypto = (): typeof import('node:crypto') => load('node:crypto') as typeof import('node:crypto')
/** `node:fs/promises`. */
export const fsPromises = (): typeof import('node:fs/promises') => load('node:fs/promises') as typeof import('node:fs/promises')
/** `node:net`. */
export const net = (): typeof import('node:net') => load('node:net') as typeof import('node:net')
/** `node:os`. */
export const os = (): typeof import('node:os') => load('node:os') as typeof import('node:os')
/** `node:tty`. */
export const tty = (): typeof import('node:tty') => load('node:tty') as typeof import('node:tty')
/** A CommonJS `require` (for `.node` files). */
export const nodeRequire = (): NodeJS.Require => load
