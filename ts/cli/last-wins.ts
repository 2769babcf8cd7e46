/**
 * runc (urfave/cli) keeps the last value of a repeated single-value flag
 * (`--pid-file a --pid-file b` → `b`); yargs turns it into an array, which a verb would then
 * pass on as a path. {@link lastWins} collapses every such array to its last element, except
 * for the flags that really repeat: {@link REPEATABLE} and the array positionals (`exec`'s
 * command, `ps`'s args). The fast path (fast-path.ts) applies the same rule by hand.
 */

/** Options that collect every occurrence (`exec -e A -e B`, `exec --cap X --cap Y`). */
export const REPEATABLE: readonly string[] = ['env', 'cap']

/** The parts of yargs' `getOptions()` this needs. */
export interface DeclaredOptions {
  array?: readonly string[]
  alias?: Readonly<Record<string, readonly string[]>>
}

/**
 * The options yargs declared for the command being parsed (its untyped but public
 * `getOptions()`, which reflects the running command's builder); none when it is missing.
 */
export function declaredOptions(parser: object): DeclaredOptions {
  const get = (parser as { getOptions?: unknown }).getOptions
  return typeof get === 'function' ? (get.call(parser) as DeclaredOptions) : {}
}

/** `a-b` → `aB`, as yargs' camel-case expansion. */
function camelCase(key: string): string {
  return key.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase())
}

/** Every key (aliases and camelCase forms included) whose values must stay an array. */
function keepArrays(declared: DeclaredOptions): Set<string> {
  const keep = new Set<string>(['_', '--'])
  for (const key of [...REPEATABLE, ...(declared.array ?? [])]) {
    for (const name of [key, ...(declared.alias?.[key] ?? [])]) {
      keep.add(name)
      keep.add(camelCase(name))
    }
  }
  return keep
}

/** Replace, in place, every array-valued flag that does not repeat by its last value. */
export function lastWins(argv: Record<string, unknown>, declared: DeclaredOptions): void {
  const keep = keepArrays(declared)
  for (const [key, value] of Object.entries(argv)) {
    if (Array.isArray(value) && value.length > 0 && !keep.has(key)) argv[key] = value[value.length - 1]
  }
}
