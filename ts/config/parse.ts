/** Read and JSON-parse a bundle's `config.json`. Shape checks live in `validate.ts`. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { LxtsError, errnoCode } from '../errors.js'
import type { OciConfig } from './types.js'

/** Line and column (1-based) of a character offset in `text`. */
function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  return { line, column: offset - before.lastIndexOf('\n') }
}

/**
 * Parse config text. Throws ERR_LXTS_INVALID_CONFIG with the position of a JSON error
 * (`config.json:3:7: …`) or when the top level is not an object. The result is not validated.
 */
export function parseConfigText(text: string, file = 'config.json'): OciConfig {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    const msg = (err as Error).message
    const m = /position (\d+)/.exec(msg)
    const where = m?.[1] === undefined ? '' : (() => {
      const p = position(text, Number(m[1]))
      return `:${p.line}:${p.column}`
    })()
    throw new LxtsError('ERR_LXTS_INVALID_CONFIG', `${file}${where}: invalid JSON: ${msg}`, { path: file, cause: err })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LxtsError('ERR_LXTS_INVALID_CONFIG', `${file}: the top level must be a JSON object`, { path: file })
  }
  return value as OciConfig
}

/**
 * Read `<bundle>/config.json`. A missing bundle or file is ERR_LXTS_BUNDLE; bad JSON is
 * ERR_LXTS_INVALID_CONFIG. The result is not validated: call `validateConfig`.
 */
export async function parseConfig(bundle: string): Promise<OciConfig> {
  const file = join(bundle, 'config.json')
  let text: string
  try {
    // On this thread: a config is a few KiB, and `readFile` would start libuv's thread pool
    // (four threads) in a CLI that otherwise never needs it, then wait for the round trip.
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const code = errnoCode(err)
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message
    throw new LxtsError('ERR_LXTS_BUNDLE', `cannot read ${file}: ${why}`, { path: file, cause: err })
  }
  return parseConfigText(text, file)
}
