#!/usr/bin/env node
/**
 * Bundles the CLI (ts/cli/bundle-entry.ts and the library it drives, yargs included) into
 * one CommonJS file, dist/bin/lxts.cjs, so `lxts` reads one file instead of ~40 modules and
 * never starts Node's ES module loader. bin/lxts.js compiles it with V8's code cache
 * (bin/code-cache.js), keyed by the sha256 appended here as the last line. yargs costs
 * little there: V8 only pre-parses the functions no command calls. The native binding
 * (the generated ../index.js and its .node file) stays outside the bundle.
 *
 * bin/lxts.js uses the bundle only when it is newer than dist/cli/main.js, so a plain `tsc`
 * build is never shadowed by a stale bundle.
 */
import { createHash } from 'node:crypto'
import { appendFile, readFile, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))
const outdir = `${root}dist/bin`

/**
 * ts/native.ts imports the generated loader as '../index.js' (one level below the package
 * root); the bundle lives two levels below it (as ts/lifecycle/helper.ts assumes for
 * '../../lxts-helper'), so the loader path is rewritten here. That loader is an ES module,
 * which CommonJS cannot require() in Node 20, and import() inside code compiled by
 * vm.Script needs an experimental flag (or prints an ExperimentalWarning): the bundle calls
 * `__lxtsImport`, the import() of bin/code-cache.js, instead. The build fails if a line it
 * rewrites has changed.
 */
const nativeLoaderPath = {
  name: 'native-loader-path',
  setup(b) {
    b.onLoad({ filter: /[\\/]ts[\\/]native\.ts$/ }, async (args) => {
      let text = await readFile(args.path, 'utf8')
      for (const [from, to] of [
        ["const spec = '../index.js'", "const spec = '../../index.js'"],
        ['(await import(loader.href))', '(await __lxtsImport(loader.href))'],
      ]) {
        if (!text.includes(from)) throw new Error(`${args.path}: expected ${from} (update scripts/build-cli.mjs)`)
        text = text.replace(from, to)
      }
      return { contents: text, loader: 'ts' }
    })
  },
}

/**
 * yargs and cliui import `string-width`, whose grapheme segmentation and `\p{RGI_Emoji}`
 * regexes cost every yargs command ~45 ms to compile: the bundle gets ts/cli/string-width.ts
 * (code points, ANSI escapes and combining marks left out, East Asian wide characters as two).
 */
const stringWidth = {
  name: 'string-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, () => ({ path: `${root}ts/cli/string-width.ts` }))
  },
}

await rm(outdir, { recursive: true, force: true })
await build({
  entryPoints: { lxts: `${root}ts/cli/bundle-entry.ts` },
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // The sources (and yargs) read import.meta.url; bin/lxts.js passes the bundle's URL in.
  define: { 'import.meta.url': '__lxtsBundleUrl' },
  // import('node:fs') (the cgroup verbs) becomes a require(): see nativeLoaderPath
  supported: { 'dynamic-import': false },
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [nativeLoaderPath, stringWidth],
})

// The bundle's content hash, as its last line: bin/code-cache.js keys V8's code cache by it
// (hashing it there, at every start, would cost ~4 ms).
const out = `${outdir}/lxts.cjs`
if (/\bimport\(/.test(await readFile(out, 'utf8'))) throw new Error(`${out}: an import() is left (see nativeLoaderPath)`)
const sha = createHash('sha256').update(await readFile(out)).digest('hex')
await appendFile(out, `\n//# lxts-build-sha256=${sha}\n`)
