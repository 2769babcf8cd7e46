/**
 * Structure-aware fuzzing of config.json, in-process (no containers): valid configs mutated
 * (fields dropped, duplicated, retyped; huge, unicode, NUL, `..` strings; deep nesting; numbers
 * out of range) and JSON text broken, through `parseConfigText`, `validateConfig`,
 * `assertValidConfig` and `buildPlan`. Nothing may crash or hang; every rejection is an
 * LxtsError with a stable code and a field. `LXTS_FUZZ_CASES=1000000` for a long run,
 * `LXTS_FUZZ_SEED=n` to reproduce one.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { buildPlan } from '../../ts/config/plan.js'
import { parseConfigText } from '../../ts/config/parse.js'
import { assertValidConfig, validateConfig } from '../../ts/config/validate.js'
import { ERROR_CODES, LxtsError } from '../../ts/errors.js'
import { assertValidId } from '../../ts/lifecycle/state-store.js'
import { defaultConfig } from '../helpers/bundle.js'
import { fuzzCases, fuzzSeed, mutate, mutateText, NASTY_STRINGS, Rng } from '../helpers/fuzz.js'

/** Valid configs the mutations start from: runc's default and one that uses most of the spec. */
function bases(): unknown[] {
  const plain = defaultConfig('fuzz', ['sh', '-c', 'true'])
  const rich = defaultConfig('fuzz', ['/bin/sh'])
  rich.process.rlimits = [{ type: 'RLIMIT_NPROC', hard: 100, soft: 50 }]
  rich.process.capabilities.inheritable = []
  rich.process.capabilities.ambient = []
  rich.process.user.additionalGids = [5, 10]
  rich.mounts.push({ destination: '/data', type: 'bind', source: '/tmp', options: ['rbind', 'ro'] })
  rich['hooks'] = { prestart: [{ path: '/bin/true', args: ['true'], env: ['A=1'], timeout: 5 }] }
  rich['annotations'] = { a: 'b' }
  rich.linux.namespaces.push({ type: 'user' }, { type: 'cgroup' })
  rich.linux['uidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
  rich.linux['gidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }]
  rich.linux['sysctl'] = { 'net.ipv4.ip_forward': '1' }
  rich.linux['resources'] = {
    memory: { limit: 1 << 26, swap: 1 << 27 },
    pids: { limit: 64 },
    cpu: { shares: 512, quota: 50000, period: 100000 },
    devices: [{ allow: false, access: 'rwm' }],
  }
  rich.linux['devices'] = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }]
  rich.linux['seccomp'] = { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] }] }
  return [plain, rich]
}

/** A thrown value must be an LxtsError with a known code and a field or path; returns a reason when not. */
function badRejection(err: unknown): string | undefined {
  if (!(err instanceof LxtsError)) return `threw a non-LxtsError: ${err instanceof Error ? err.stack : String(err)}`
  if (!ERROR_CODES.includes(err.code)) return `unknown code ${err.code}`
  if ((err.field ?? err.path ?? '') === '') return `${err.code} without a field or path: ${err.message}`
  return undefined
}

function fail(t: ExecutionContext, seed: number, done: string[], why: string): void {
  t.fail(`seed ${seed} (${done.join(', ')}): ${why}`)
}

test('config fuzz: mutated configs never crash validation or planning; rejections name a field', (t) => {
  const n = fuzzCases(10_000)
  const seed0 = fuzzSeed()
  const dir = mkdtempSync(join(tmpdir(), 'lxts-fuzz-'))
  mkdirSync(join(dir, 'rootfs'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const bs = bases()
  let valid = 0
  let rejected = 0
  const codes = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const seed = seed0 + i
    const r = new Rng(seed)
    const { value, done } = mutate(r, r.pick(bs))
    let issues
    try {
      issues = validateConfig(value)
    } catch (err) {
      fail(t, seed, done, `validateConfig threw: ${err instanceof Error ? err.stack : String(err)}`)
      return
    }
    for (const is of issues) {
      if (!ERROR_CODES.includes(is.code) || typeof is.field !== 'string' || is.field === '' || typeof is.message !== 'string') {
        fail(t, seed, done, `malformed issue ${JSON.stringify(is)}`)
        return
      }
    }
    try {
      const config = assertValidConfig(value)
      buildPlan(config, { mode: 'create', id: 'fuzz', bundle: dir, stateDir: join(dir, 'state'), ownCgroup: '/' })
      valid++
    } catch (err) {
      const why = badRejection(err)
      if (why !== undefined) {
        fail(t, seed, done, why)
        return
      }
      rejected++
      const code = (err as LxtsError).code
      codes.set(code, (codes.get(code) ?? 0) + 1)
    }
  }
  t.log(`${n} cases from seed ${seed0}: ${valid} planned, ${rejected} rejected`, Object.fromEntries(codes))
  t.true(rejected > n / 10, 'the mutations reach the validator')
  t.true(valid > 0, 'some mutations stay valid (so buildPlan is exercised)')
})

test('config fuzz: broken JSON text is ERR_LXTS_INVALID_CONFIG naming the file, never a crash', (t) => {
  const n = Math.max(1000, Math.floor(fuzzCases(10_000) / 5))
  const seed0 = fuzzSeed() + 7_000_000
  const texts = bases().map((b) => JSON.stringify(b, null, 2))
  for (let i = 0; i < n; i++) {
    const seed = seed0 + i
    const r = new Rng(seed)
    const text = mutateText(r, r.pick(texts))
    try {
      const c = parseConfigText(text, '/b/config.json')
      validateConfig(c)
    } catch (err) {
      const why = badRejection(err)
      if (why !== undefined) return fail(t, seed, ['text'], why)
      if ((err as LxtsError).code !== 'ERR_LXTS_INVALID_CONFIG') return fail(t, seed, ['text'], `code ${(err as LxtsError).code}`)
      if (!(err as LxtsError).message.startsWith('/b/config.json')) return fail(t, seed, ['text'], `message does not name the file: ${(err as LxtsError).message}`)
    }
  }
  t.pass()
})

test('config fuzz: deep nesting and huge documents are handled in bounded time', (t) => {
  const base = defaultConfig('fuzz')
  const deep = '['.repeat(100_000) + ']'.repeat(100_000)
  const start = Date.now()
  for (const text of [deep, `{"ociVersion":"1.0.2","process":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`]) {
    try {
      validateConfig(parseConfigText(text))
    } catch (err) {
      t.is(badRejection(err), undefined)
    }
  }
  const huge = structuredClone(base)
  huge.process.env = Array.from({ length: 100_000 }, (_, i) => `V${i}=${'x'.repeat(20)}`)
  huge.process.args = ['sh', 'z'.repeat(10 << 20)]
  t.deepEqual(validateConfig(huge).filter((i) => i.code === 'ERR_LXTS_INVALID_CONFIG' && !/args|env/.test(i.field)), [])
  t.true(Date.now() - start < 10_000, `took ${Date.now() - start} ms`)
})

test('ids with .., NUL, newlines, slashes or over 1024 chars are ERR_LXTS_INVALID_ID', (t) => {
  for (const id of [...NASTY_STRINGS, 'a/b', 'a\nb', 'a\0b', '.', '..', '.hidden', '-x', 'a'.repeat(1025), 'a'.repeat(4096), 'é']) {
    if (/^[A-Za-z0-9][A-Za-z0-9_.+-]{0,1023}$/.test(id) && id !== '.' && id !== '..') continue // legitimately valid
    const err = t.throws(() => assertValidId(id), { instanceOf: LxtsError }, JSON.stringify(id.slice(0, 40)))
    t.is(err?.code, 'ERR_LXTS_INVALID_ID')
  }
  t.notThrows(() => assertValidId('a'.repeat(1024)))
})

test('bundle and hook paths with .., NUL, newlines or 4 KiB names are refused cleanly', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-fuzz-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'rootfs'))
  for (const bundle of [join(dir, 'no\0pe'), join(dir, 'x'.repeat(4096)), join(dir, 'a\nb'), join(dir, '..', '..', 'nonexistent-lxts')]) {
    const err = t.throws(() => buildPlan(defaultConfig('x') as never, { mode: 'create', id: 'x', bundle, stateDir: dir, ownCgroup: '/' }))
    t.is(badRejection(err), undefined, JSON.stringify(bundle.slice(-40)))
  }
  // (a 4 KiB or newline hook path is a legal string: it fails when run, ENAMETOOLONG/ENOENT, see cve.spec)
  for (const path of ['relative/hook', '/bin/true\0x', '', 'a\nb', '../bin/true']) {
    const c = defaultConfig('x')
    c['hooks'] = { prestart: [{ path }] }
    const issues = validateConfig(c)
    t.true(issues.some((i) => i.field.startsWith('hooks.prestart[0]')), `hook path ${JSON.stringify(path.slice(0, 40))}: ${JSON.stringify(issues)}`)
  }
})
