/**
 * runc's command line as urfave/cli reads it, rewritten into the shape yargs reads the same way:
 * - `exec ID CMD ARGS…` stops reading flags at the container id: in `exec c1 sh -c 'echo hi'`
 *   the `-c` belongs to `sh`, not to `--cap`; it becomes `exec [flags] ID -- CMD ARGS…`.
 * - `update --resources - ID` (go-runc's form): yargs takes a lone `-` for no value, so it
 *   becomes `--resources=-`.
 */

/** Global flags (before the verb) that take a value. */
const GLOBAL_VALUE_FLAGS = new Set(['--root', '--log', '--log-format', '--criu', '--rootless'])

/** `exec` flags that take a value (the next word) unless written `--flag=value`. */
const EXEC_VALUE_FLAGS = new Set([
  '--process', '-p', '--user', '-u', '--additional-gids', '-g', '--cwd', '--env', '-e', '--cap', '-c',
  '--pid-file', '--console-socket', '--preserve-fds', '--apparmor', '--process-label',
])

/** Index of the first word at or after `from` that is not a flag or a flag's value, or -1. */
function firstPositional(args: readonly string[], from: number, valueFlags: ReadonlySet<string>): number {
  for (let i = from; i < args.length; i++) {
    const a = args[i] ?? ''
    if (a === '--') return -1
    if (!a.startsWith('-') || a === '-') return i
    if (!a.includes('=') && valueFlags.has(a)) i++
  }
  return -1
}

/** `args` with `--` inserted after the `exec` verb's container id when a command follows it. */
export function haltExecArgs(args: readonly string[]): string[] {
  const verb = firstPositional(args, 0, GLOBAL_VALUE_FLAGS)
  if (verb === -1 || args[verb] !== 'exec') return [...args]
  const id = firstPositional(args, verb + 1, EXEC_VALUE_FLAGS)
  if (id === -1 || id + 1 >= args.length || args[id + 1] === '--') return [...args]
  return [...args.slice(0, id + 1), '--', ...args.slice(id + 1)]
}

/** `update`'s `--resources -`/`-r -` joined into `--resources=-`/`-r=-`. */
export function joinStdinResources(args: readonly string[]): string[] {
  const verb = firstPositional(args, 0, GLOBAL_VALUE_FLAGS)
  if (verb === -1 || args[verb] !== 'update') return [...args]
  const out = args.slice(0, verb + 1)
  for (let i = verb + 1; i < args.length; i++) {
    const a = args[i] ?? ''
    if (a === '--') return [...out, ...args.slice(i)]
    if ((a === '--resources' || a === '-r') && args[i + 1] === '-') {
      out.push(`${a}=-`)
      i++
    } else out.push(a)
  }
  return out
}

/** Every rewrite above, in order. */
export function runcArgs(args: readonly string[]): string[] {
  return joinStdinResources(haltExecArgs(args))
}
