/**
 * Structure-aware fuzzing: a seeded PRNG and mutators that take a valid JSON value (a config,
 * an argv) and break it the way hostile or sloppy input does — drop, duplicate or retype a
 * field, huge strings, unicode, NUL, `..`, deep nesting, numbers out of range.
 * Everything is deterministic from the seed, so a failure is reproduced by its seed alone.
 */

/** Number of fuzz cases: `LXTS_FUZZ_CASES` (a long run) or `dflt`. */
export function fuzzCases(dflt: number): number {
  const n = Number(process.env['LXTS_FUZZ_CASES'])
  return Number.isInteger(n) && n > 0 ? n : dflt
}

/** The base seed: `LXTS_FUZZ_SEED` or a fixed default (a fixed default keeps CI reproducible). */
export function fuzzSeed(dflt = 0x1c75): number {
  const n = Number(process.env['LXTS_FUZZ_SEED'])
  return Number.isInteger(n) ? n : dflt
}

/** A small seeded PRNG (mulberry32). */
export class Rng {
  #s: number
  constructor(seed: number) {
    this.#s = seed >>> 0
  }
  /** A float in [0, 1). */
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0
    let t = this.#s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  pick<T>(xs: readonly T[]): T {
    const x = xs[this.int(xs.length)]
    if (x === undefined) throw new Error('pick from an empty list')
    return x
  }
  chance(p: number): boolean {
    return this.next() < p
  }
}

/** Strings that break naive path, id and text handling. */
export const NASTY_STRINGS: readonly string[] = [
  '',
  ' ',
  '..',
  '../../../../etc/passwd',
  '/../..',
  '/proc/self/exe',
  '/proc/self/fd/7',
  'a\0b',
  '\0',
  'line\nbreak',
  '\r\n',
  '\u202e\u0301é✓😀',
  '\ud800',
  '%s%n%x',
  '$(reboot)',
  '`id`',
  '-',
  '--',
  '--root=/',
  '-1',
  'rootfs',
  '/',
  '//',
  'x'.repeat(4096),
  'y'.repeat(70_000),
  '/a/'.repeat(2000),
  'CAP_SYS_ADMIN',
  'RLIMIT_NOFILE',
  'bind',
  'rbind',
  'nosuid',
  'tmpfs',
  'proc',
  'user',
  'pid',
  'SCMP_ACT_ALLOW',
  '1.0.2',
  'true',
  'null',
  '0',
]

/** Numbers out of every range a config field has. */
export const NASTY_NUMBERS: readonly number[] = [
  0, -0, -1, 1, 0.5, -(2 ** 31), 2 ** 31, 2 ** 32, 2 ** 32 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 2 ** 64, 1e308, -1e308, Number.MIN_VALUE, 65535, 65536,
]

/** A random JSON value of any type (small). */
export function randomValue(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 2 ? 5 : 7)) {
    case 0:
      return null
    case 1:
      return r.chance(0.5)
    case 2:
      return r.pick(NASTY_NUMBERS)
    case 3:
    case 4:
      return r.pick(NASTY_STRINGS)
    case 5:
      return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1))
    default: {
      const o: Record<string, unknown> = {}
      for (let i = r.int(4); i > 0; i--) o[r.pick(NASTY_STRINGS).slice(0, 20)] = randomValue(r, depth + 1)
      return o
    }
  }
}

/** `depth` arrays (or objects) nested in each other. */
export function deepNest(depth: number, asObject: boolean): unknown {
  let v: unknown = 1
  for (let i = 0; i < depth; i++) v = asObject ? { a: v } : [v]
  return v
}

type Container = Record<string, unknown> | unknown[]

/** Every (parent, key) location inside `v`, for picking one to mutate. */
function locations(v: unknown, out: [Container, string | number][] = [], depth = 0): [Container, string | number][] {
  if (depth > 12) return out // never into a deep-nest a mutation made
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push([v, i])
      locations(x, out, depth + 1)
    })
  } else if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>
    for (const k of Object.keys(o)) {
      out.push([o, k])
      locations(o[k], out, depth + 1)
    }
  }
  return out
}

/** A value of a type different from `x`'s. */
function retype(r: Rng, x: unknown): unknown {
  for (;;) {
    const y = randomValue(r)
    if (typeof y !== typeof x || Array.isArray(y) !== Array.isArray(x) || (y === null) !== (x === null)) return y
  }
}

/** Names of the mutations, for the failure report. */
export type Mutation = 'drop' | 'duplicate' | 'retype' | 'nasty-string' | 'nasty-number' | 'deep-nest' | 'add-field' | 'clear' | 'string-edit'

/** Apply `n` random mutations to a deep copy of `base`; returns the copy and what was done. */
export function mutate(r: Rng, base: unknown, n = 1 + r.int(3)): { value: unknown; done: string[] } {
  const value = structuredClone(base)
  const done: string[] = []
  for (let i = 0; i < n; i++) {
    const locs = locations(value)
    if (locs.length === 0) break
    const [parent, key] = r.pick(locs)
    const get = (): unknown => (Array.isArray(parent) ? parent[key as number] : parent[key as string])
    const set = (v: unknown): void => {
      if (Array.isArray(parent)) parent[key as number] = v
      else parent[key as string] = v
    }
    const m: Mutation = r.pick(['drop', 'duplicate', 'retype', 'retype', 'nasty-string', 'nasty-number', 'deep-nest', 'add-field', 'clear', 'string-edit'] as const)
    done.push(`${m}@${String(key).slice(0, 30)}`)
    switch (m) {
      case 'drop':
        if (Array.isArray(parent)) parent.splice(key as number, 1)
        else delete parent[key as string]
        break
      case 'duplicate':
        if (Array.isArray(parent)) parent.splice(key as number, 0, get()) // shared, not cloned: it may be a 5000-deep nest
        else parent[`${String(key)}`] = [get(), get()]
        break
      case 'retype':
        set(retype(r, get()))
        break
      case 'nasty-string':
        set(r.pick(NASTY_STRINGS))
        break
      case 'nasty-number':
        set(r.pick(NASTY_NUMBERS))
        break
      case 'deep-nest':
        set(deepNest(r.pick([50, 500, 5000]), r.chance(0.5)))
        break
      case 'add-field': {
        const target = get()
        if (typeof target === 'object' && target !== null && !Array.isArray(target)) {
          ;(target as Record<string, unknown>)[r.pick(NASTY_STRINGS).slice(0, 40)] = randomValue(r)
        } else if (Array.isArray(target)) target.push(randomValue(r))
        else set(randomValue(r))
        break
      }
      case 'clear': {
        const x = get()
        set(Array.isArray(x) ? [] : typeof x === 'object' && x !== null ? {} : typeof x === 'string' ? '' : 0)
        break
      }
      case 'string-edit': {
        const x = get()
        if (typeof x === 'string') {
          const at = r.int(x.length + 1)
          set(x.slice(0, at) + r.pick(['..', '/..', '\0', '\n', '/', '😀', '%', ' ']) + x.slice(at))
        } else set(r.pick(NASTY_STRINGS))
        break
      }
    }
  }
  return { value, done }
}

/** Break JSON text: truncate it, flip a byte, or splice junk in. */
export function mutateText(r: Rng, text: string): string {
  const at = r.int(text.length + 1)
  switch (r.int(4)) {
    case 0:
      return text.slice(0, at)
    case 1:
      return text.slice(0, at) + String.fromCharCode(r.int(128)) + text.slice(at + 1)
    case 2:
      return text.slice(0, at) + r.pick(['{', '}', '[', ']', ',', ':', '"', '\\', '\0', 'null', '1e999', '"\\ud800"']) + text.slice(at)
    default:
      return text + r.pick(['', ' ', 'x', '{}', '\0'])
  }
}
