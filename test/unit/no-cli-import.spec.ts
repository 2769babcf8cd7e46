import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import test from 'ava'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** A `--import` module registering a resolve hook that prints every resolved URL. */
const HOOK = `
  import { register } from 'node:module'
  register('data:text/javascript,' + encodeURIComponent(\`
    export async function resolve(spec, ctx, next) {
      const r = await next(spec, ctx)
      console.log('LOADED ' + r.url)
      return r
    }\`), import.meta.url)
`

/** Run `code` as an ESM entry in a fresh node and return every URL it resolved. */
function loadedBy(code: string, tsx: boolean): string[] {
  const args = [...(tsx ? ['--import=tsx'] : []), '--import', `data:text/javascript,${encodeURIComponent(HOOK)}`, '--input-type=module', '-e', code]
  const out = execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' })
  return out.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7))
}

test('importing the library loads neither yargs nor ts/cli nor the native binding', (t) => {
  const urls = loadedBy("const lib = await import('./ts/index.ts'); if (typeof lib.Runtime !== 'function') throw new Error('no Runtime')", true)
  t.true(urls.some((u) => u.endsWith('/ts/index.ts')), 'the hook saw the library load')
  t.true(urls.some((u) => u.endsWith('/ts/lifecycle/runtime.ts')), 'and its modules')
  t.deepEqual(urls.filter((u) => u.includes('/yargs/')), [], 'yargs loaded')
  t.deepEqual(urls.filter((u) => u.includes('/ts/cli/')), [], 'ts/cli loaded')
  t.deepEqual(urls.filter((u) => u === new URL('index.js', `file://${root}/`).href || u.endsWith('.node')), [], 'native binding loaded eagerly')
})

test('the hook does see yargs when it is loaded (so the check above can fail)', (t) => {
  t.true(loadedBy("await import('yargs')", false).some((u) => u.includes('/yargs/')))
})
