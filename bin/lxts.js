#!/usr/bin/env node
// The lxts command. CommonJS (bin/package.json), so Node starts it without its ES module
// loader (~5 ms at start-up, and every file read through it goes to the thread pool).
//
// It runs the esbuild bundle (dist/bin/lxts.cjs, built by `npm run build:cli`) when that is
// at least as new as the tsc output, else the tsc output itself (dist/cli/main.js), so a
// bundle older than the last `tsc` is never used. The bundle is compiled with V8's code
// cache (see ./code-cache.js): about 8 ms of every run is compiling it.
'use strict'
const { statSync } = require('node:fs')
const { join } = require('node:path')
const { pathToFileURL } = require('node:url')

const dist = join(__dirname, '..', 'dist')
const bundle = join(dist, 'bin', 'lxts.cjs')
const modules = join(dist, 'cli', 'main.js')
const mtime = (path) => statSync(path, { throwIfNoEntry: false })?.mtimeMs
const bundled = mtime(bundle)
const compiled = mtime(modules)
if (bundled !== undefined && (compiled === undefined || bundled >= compiled)) {
  require('./code-cache.js').runBundle(bundle, process.argv.slice(2))
} else {
  // Node >= 22.1 caches compiled code between runs (absent in Node 20: a no-op there).
  require('node:module').enableCompileCache?.()
  import(pathToFileURL(modules).href)
}
