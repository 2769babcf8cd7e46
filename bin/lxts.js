#!/usr/bin/env node
// The lxts command. Kept tiny: the compile cache makes repeated starts cheaper, and
// everything else is loaded by the verb that needs it.
import module from 'node:module'

module.enableCompileCache?.()
await import('../dist/cli/main.js')
