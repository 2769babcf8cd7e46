/**
 * bin/code-cache.js on a copy of the CLI bundle: the cache is written, used, and a damaged,
 * foreign-owned or group-writable one is never trusted (the CLI still runs and replaces it).
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { REPO } from '../helpers/env.js'

const bundle = join(REPO, 'dist', 'bin', 'lxts.cjs')
const dir = mkdtempSync(join(tmpdir(), 'lxts-test-cache-'))
test.after.always(() => rmSync(dir, { recursive: true, force: true }))

/** A fresh copy of the bundle in its own directory; runs `--version` through code-cache.js. */
function setup(name: string): { run: () => string; cache: () => string | undefined } {
  const bin = join(dir, name, 'dist', 'bin')
  mkdirSync(bin, { recursive: true })
  copyFileSync(bundle, join(bin, 'lxts.cjs'))
  const env = { ...process.env }
  delete env['NODE_EXTRA_CA_CERTS']
  // A CommonJS starter, as bin/lxts.js: the bundle reads its arguments from process.argv.
  const script = join(dir, name, 'start.cjs')
  writeFileSync(script, `require(${JSON.stringify(join(REPO, 'bin', 'code-cache.js'))}).runBundle(${JSON.stringify(join(bin, 'lxts.cjs'))}, process.argv.slice(2))\n`)
  return {
    run: () => execFileSync(process.execPath, [script, '--version'], { encoding: 'utf8', env }),
    cache: () => {
      const f = readdirSync(bin).find((n) => n.endsWith('.v8cache'))
      return f === undefined ? undefined : join(bin, f)
    },
  }
}

/** Flip bytes in both copies of V8's data (the header line says how long one copy is). */
function damage(file: string): void {
  const b = readFileSync(file)
  const nl = b.indexOf(10)
  const len = Number(b.subarray(0, nl).toString('latin1').split('\t')[2])
  for (const at of [64, Math.floor(len / 2)]) {
    for (let i = 0; i < 32; i++) {
      for (const k of [nl + 1 + at + i, nl + 1 + len + at + i]) b.writeUInt8((b.readUInt8(k) ^ 0x5a) & 0xff, k)
    }
  }
  writeFileSync(file, b)
}

test.serial('the first run writes a cache, the next ones use it', (t) => {
  if (!existsSync(bundle)) return t.fail('no dist/bin/lxts.cjs: npm run build:cli')
  const s = setup('plain')
  t.regex(s.run(), /lxts version/)
  const file = s.cache()
  t.truthy(file, 'a cache was written at exit')
  const before = statSync(file ?? '').ino
  t.regex(s.run(), /lxts version/)
  t.is(statSync(s.cache() ?? '').ino, before, 'an accepted cache is not rewritten')
})

test.serial('a damaged cache (both copies) is rejected by its checksum, not run: the CLI works and replaces it', (t) => {
  const s = setup('damaged')
  s.run()
  const file = s.cache() ?? ''
  damage(file)
  const damaged = readFileSync(file)
  t.regex(s.run(), /lxts version/)
  t.notDeepEqual(readFileSync(s.cache() ?? ''), damaged, 'rewritten')
  t.regex(s.run(), /lxts version/)
})

test.serial("a cache owned by another user, or writable by others, is ignored and replaced", (t) => {
  if (process.getuid?.() !== 0) return t.pass('needs root to chown')
  for (const [name, spoil] of [
    ['foreign', (f: string) => chownSync(f, 65534, 65534)],
    ['writable', (f: string) => chmodSync(f, 0o666)],
  ] as const) {
    const s = setup(name)
    s.run()
    const file = s.cache() ?? ''
    spoil(file)
    t.regex(s.run(), /lxts version/)
    const st = statSync(s.cache() ?? '')
    t.true(st.uid === 0 && (st.mode & 0o022) === 0, `${name}: replaced by one of ours (uid ${st.uid}, mode ${st.mode.toString(8)})`)
  }
})
