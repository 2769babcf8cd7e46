/** Linux signal names and numbers (x86_64/arm64 numbering), as `kill` accepts them. */
import { LxtsError } from './errors.js'

/** Standard signals by name without the `SIG` prefix. */
export const SIGNALS: Readonly<Record<string, number>> = Object.freeze({
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  POLL: 29,
  PWR: 30,
  SYS: 31,
})

/** First real-time signal as user space sees it (glibc reserves 32 and 33). */
export const SIGRTMIN = 34
/** Last real-time signal. */
export const SIGRTMAX = 64

function invalid(input: string | number): LxtsError {
  return new LxtsError('ERR_LXTS_USAGE', `unknown signal ${JSON.stringify(input)}`, { field: 'signal' })
}

/**
 * The number of a signal given as `TERM`, `SIGTERM`, `sigterm`, `15`, 15, `RTMIN+3`,
 * `SIGRTMAX-1`. Throws ERR_LXTS_USAGE for anything else.
 */
export function signalNumber(signal: string | number): number {
  if (typeof signal === 'number') {
    if (Number.isInteger(signal) && signal >= 1 && signal <= SIGRTMAX) return signal
    throw invalid(signal)
  }
  const s = signal.trim().toUpperCase()
  if (/^[0-9]+$/.test(s)) return signalNumber(Number(s))
  const name = s.startsWith('SIG') ? s.slice(3) : s
  const std = SIGNALS[name]
  if (std !== undefined) return std
  const rt = /^RT(MIN|MAX)(?:([+-])([0-9]+))?$/.exec(name)
  if (rt !== null) {
    const base = rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX
    const off = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === '-' ? -1 : 1)
    const n = base + off
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n
  }
  throw invalid(signal)
}

/** The canonical name of a signal number (`SIGTERM`, `SIGRTMIN+2`). */
export function signalName(n: number): string {
  for (const [name, num] of Object.entries(SIGNALS)) if (num === n) return `SIG${name}`
  if (n === SIGRTMIN) return 'SIGRTMIN'
  if (n === SIGRTMAX) return 'SIGRTMAX'
  if (n > SIGRTMIN && n < SIGRTMAX) return `SIGRTMIN+${n - SIGRTMIN}`
  throw invalid(n)
}
