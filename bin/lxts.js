#!/usr/bin/env node
// The lxts command. Kept tiny. It runs the esbuild bundle (dist/bin/lxts.mjs, built by
// `npm run build:cli`) when that is at least as new as the tsc output, else the tsc output
// itself (dist/cli/main.js), so a bundle older than the last `tsc` is never used.
import { statSync } from 'node:fs'
import module from 'node:module'

// Node >= 22.1 caches compiled code between runs (absent in Node 20: a no-op there).
module.enableCompileCache?.()
const bundle = new URL('../dist/bin/lxts.mjs', import.meta.url)
const modules = new URL('../dist/cli/main.js', import.meta.url)
const mtime = (url) => statSync(url, { throwIfNoEntry: false })?.mtimeMs
const bundled = mtime(bundle)
const compiled = mtime(modules)
await import(bundled !== undefined && (compiled === undefined || bundled >= compiled) ? bundle.href : modules.href)
