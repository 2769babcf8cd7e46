/**
 * Mutated-but-valid configs run as real containers (root only): each either runs and is cleaned
 * up, or fails with an ERR_LXTS code, and nothing is left (the harness checks processes,
 * cgroups, state dirs and mounts). Only parts that cannot reach the host are mutated (the
 * process's env/user/rlimits/caps/cwd, hostname, masked and read-only paths, mount options,
 * annotations), and the process is always `true`: a fuzzer must never run random host commands.
 * `LXTS_FUZZ_REAL=n` sets the number of runs (default 200).
 */
import test from 'ava'
import { validateConfig } from '../../ts/config/validate.js'
import { defaultConfig, type TestConfig } from '../helpers/bundle.js'
import { describe } from '../helpers/cli.js'
import { fuzzSeed, mutate, Rng } from '../helpers/fuzz.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)
const RUNS = Number(process.env['LXTS_FUZZ_REAL'] ?? 200)
const PARALLEL = 4

/** One valid mutation of the safe parts of the default config, or undefined. */
function candidate(seed: number): TestConfig | undefined {
  const r = new Rng(seed)
  const base = defaultConfig('x', ['true'])
  const part = r.pick(['process', 'hostname', 'maskedPaths', 'readonlyPaths', 'mountOptions', 'annotations'] as const)
  const c = structuredClone(base)
  switch (part) {
    case 'process': {
      const { value } = mutate(r, { env: c.process.env, user: c.process.user, rlimits: c.process.rlimits, capabilities: c.process.capabilities, cwd: c.process.cwd, noNewPrivileges: c.process.noNewPrivileges })
      Object.assign(c.process, value as object)
      break
    }
    case 'hostname':
      c.hostname = (mutate(r, { h: c.hostname }).value as { h: string }).h
      break
    case 'maskedPaths':
      c.linux.maskedPaths = mutate(r, c.linux.maskedPaths).value as string[]
      break
    case 'readonlyPaths':
      c.linux.readonlyPaths = mutate(r, c.linux.readonlyPaths).value as string[]
      break
    case 'mountOptions': {
      const i = r.int(c.mounts.length)
      const m = c.mounts[i]
      if (m !== undefined) m.options = mutate(r, m.options ?? ['nosuid']).value as string[]
      break
    }
    case 'annotations':
      c['annotations'] = mutate(r, { a: 'b', 'org.opencontainers.x': 'y' }).value
      break
  }
  c.process.args = ['true']
  return validateConfig(c).length === 0 ? c : undefined
}

h.it(`${RUNS} real runs of mutated-but-valid configs: success or a coded failure, never a leak`, async (t) => {
  t.timeout(900_000)
  const configs: TestConfig[] = []
  for (let seed = fuzzSeed() + 3_000_000; configs.length < RUNS; seed++) {
    const c = candidate(seed)
    if (c !== undefined) configs.push(c)
  }
  const bad: string[] = []
  const tally = new Map<string, number>()
  let next = 0
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      for (;;) {
        const c = configs[next++]
        if (c === undefined) return
        const b = h.bundle(['true'], (cfg) => {
          const cg = cfg.linux.cgroupsPath
          Object.assign(cfg, structuredClone(c))
          cfg.linux.cgroupsPath = cg
        })
        const r = await h.cli(['run', '--rm', '-b', b.dir, b.id], { timeout: 30_000 })
        const code = r.code === 0 ? 'ok' : (/\((ERR_LXTS_[A-Z_]+)/.exec(r.stderr)?.[1] ?? `exit ${r.code}`)
        tally.set(code, (tally.get(code) ?? 0) + 1)
        if (r.timedOut || (r.code !== 0 && !/ERR_LXTS_/.test(r.stderr))) bad.push(describe(r) + JSON.stringify(c).slice(0, 600))
      }
    }),
  )
  t.log(Object.fromEntries(tally))
  t.deepEqual(bad.slice(0, 3), [], `${bad.length} runs hung or failed without a code`)
})
