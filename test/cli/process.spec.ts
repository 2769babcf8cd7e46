/**
 * The real entry (`ts/cli/main.ts` through tsx, no build needed) as a process: exit codes,
 * `--version`, and process.stdout never created.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import test from 'ava'

const MAIN = fileURLToPath(new URL('../../ts/cli/main.ts', import.meta.url))

function lxts(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: 30_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

test('--version exits 0 with "lxts version X" first', (t) => {
  const r = lxts(['--version'])
  t.is(r.status, 0, r.stderr)
  t.regex(r.stdout, /^lxts version \d+\.\d+\.\d+\nspec: /)
})

test('an unknown verb exits non-zero with "lxts: …" on stderr', (t) => {
  // (a verb close to a real one gets yargs' "Did you mean …?" instead: "bogus" is near "logs")
  const r = lxts(['xyzzyq'])
  t.is(r.status, 2)
  t.regex(r.stderr, /^lxts: .*xyzzyq/)
  t.is(r.stdout, '')
})

test('--systemd-cgroup create fails with a clear message', (t) => {
  const r = lxts(['--systemd-cgroup', 'create', '--bundle', '/nonexistent', 'c1'])
  t.is(r.status, 1)
  t.regex(r.stderr, /^lxts: --systemd-cgroup is not supported.*ERR_LXTS_UNSUPPORTED/)
})

test.serial('loading yargs and printing never create process.stdout (it would set O_NONBLOCK on fd 1)', async (t) => {
  // Creating the stdout stream makes libuv set O_NONBLOCK on fd 1, a flag of the open file
  // description shared with the engine and the container. (tsx itself does it in this worker,
  // so the check counts getter calls instead of reading fdinfo.) yargs is first imported here.
  const original = Object.getOwnPropertyDescriptor(process, 'stdout')
  let reads = 0
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: true,
    get: () => {
      reads++
      return original?.get?.call(process)
    },
  })
  try {
    const { loadYargs } = await import('../../ts/cli/load-yargs.js')
    const { formatJson } = await import('../../ts/cli/output.js')
    const yargs = await loadYargs()
    yargs().option('x', { type: 'string' }).parse(['--x', 'y'])
    formatJson({ a: 1 })
  } finally {
    if (original !== undefined) Object.defineProperty(process, 'stdout', original)
  }
  t.is(reads, 0)
})
