#!/usr/bin/env node
/**
 * Bundles the CLI (ts/cli/main.ts and the library it drives) into dist/bin/lxts.mjs with
 * esbuild, so `lxts` resolves and reads one file instead of ~40 modules. yargs goes into a
 * separate chunk (dist/bin/chunk-*.mjs) that only the yargs path imports; the native
 * binding (the generated ../index.js and its .node file) stays outside the bundle.
 *
 * bin/lxts.js uses the bundle only when it is newer than dist/cli/main.js, so a plain `tsc`
 * build is never shadowed by a stale bundle.
 */
import { readFile, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))
const outdir = `${root}dist/bin`

/**
 * ts/native.ts imports the generated loader as '../index.js' (one level below the package
 * root); the bundle lives two levels below it (as ts/lifecycle/helper.ts assumes for
 * '../../lxts-helper'), so the loader path is rewritten here, and the build fails if the
 * line it rewrites has changed.
 */
const nativeLoaderPath = {
  name: 'native-loader-path',
  setup(b) {
    b.onLoad({ filter: /[\\/]ts[\\/]native\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8')
      const from = "const spec = '../index.js'"
      if (!text.includes(from)) throw new Error(`${args.path}: expected the line ${from} (update scripts/build-cli.mjs)`)
      return { contents: text.replace(from, "const spec = '../../index.js'"), loader: 'ts' }
    })
  },
}

await rm(outdir, { recursive: true, force: true })
await build({
  entryPoints: { lxts: `${root}ts/cli/main.ts` },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [nativeLoaderPath],
})
