/** `lxts spec [--rootless] [--bundle DIR]` */
import { closeSync, openSync, statSync, writeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { CommandModule } from 'yargs'
import { CliError } from '../cli-error.js'
import type { CliContext } from '../context.js'
import type { GlobalArgs } from '../global-options.js'

/** Arguments of `spec`. */
export interface SpecArgs extends GlobalArgs {
  bundle: string | undefined
}

/**
 * Whether `spec --rootless` was asked for. The global `--rootless` takes a value, so the
 * bare flag after the verb arrives as an empty string.
 */
export function wantsRootlessSpec(value: string | undefined): boolean {
  return value === '' || value === 'true'
}

/** ERR_LXTS_BUNDLE naming `dir` when it is missing or not a directory (runc: `chdir DIR: no such file or directory`). */
function missingBundle(dir: string): CliError | undefined {
  let isDir: boolean
  try {
    isDir = statSync(dir).isDirectory()
  } catch (error) {
    const code: unknown = error instanceof Error ? Reflect.get(error, 'code') : undefined
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined
    return new CliError('ERR_LXTS_BUNDLE', `bundle directory ${dir}: no such file or directory`, { path: dir, field: '--bundle' })
  }
  return isDir ? undefined : new CliError('ERR_LXTS_BUNDLE', `bundle directory ${dir}: not a directory`, { path: dir, field: '--bundle' })
}

/** Writes `text` to `<dir>/config.json`, refusing to replace an existing file (as runc). */
export function writeNewConfig(dir: string, text: string): void {
  const path = join(dir, 'config.json')
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o644)
  } catch (error) {
    if (error instanceof Error && Reflect.get(error, 'code') === 'EEXIST') {
      throw new CliError('ERR_LXTS_EXISTS', `File ${path} exists. Remove it first`, { path })
    }
    throw missingBundle(dir) ?? error
  }
  try {
    writeSync(fd, text)
  } finally {
    closeSync(fd)
  }
}

/** The `spec` verb: writes a starter `config.json` (runc's defaults) into the bundle. */
export function specCommand(ctx: CliContext): CommandModule<GlobalArgs, SpecArgs> {
  return {
    command: 'spec',
    describe: 'write a default config.json into the bundle directory',
    builder: (parser) =>
      parser.option('bundle', { alias: 'b', type: 'string', describe: 'bundle directory (default: the current directory)' }),
    handler: async (argv) => {
      const library = await ctx.library()
      const config = library.defaultSpec({ rootless: wantsRootlessSpec(argv.rootless) })
      writeNewConfig(resolve(ctx.cwd, argv.bundle ?? '.'), `${JSON.stringify(config, null, '\t')}\n`)
    },
  }
}
