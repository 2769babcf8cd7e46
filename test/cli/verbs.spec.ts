/** --version, spec, features, and the --log file formats. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { FEATURES } from '../../ts/cli/features-data.js'
import { formatLogLine, sniffLogOptions } from '../../ts/cli/log.js'
import { cli, FakeLxtsError, withTempDir } from './fake.js'

test('--version: first line "lxts version X" (go-runc reads it), then spec:', async (t) => {
  for (const flag of ['--version', '-v']) {
    const r = await cli([flag])
    t.is(r.code, 0)
    const lines = r.stdout.trimEnd().split('\n')
    t.regex(lines[0] ?? '', /^lxts version \d+\.\d+\.\d+$/)
    t.regex(lines[1] ?? '', /^spec: 1\.\d+\.\d+$/)
    t.deepEqual(r.calls, [])
  }
})

test('--help prints usage and exits 0 without loading the library', async (t) => {
  const r = await cli(['--help'])
  t.is(r.code, 0)
  t.regex(r.stdout, /lxts \[global options\] <command>/)
  t.regex(r.stdout, /create <id>/)
  t.deepEqual(r.calls, [])
})

test('spec writes config.json (valid JSON from defaultSpec) and refuses to overwrite', async (t) => {
  await withTempDir(async (dir) => {
    const r = await cli(['spec'], {}, dir)
    t.is(r.code, 0, r.stderr)
    const path = join(dir, 'config.json')
    t.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { ociVersion: '1.2.0', process: { args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 } }, root: { path: 'rootfs' } })
    t.deepEqual(r.calls, [{ op: 'defaultSpec', rootless: false }])
    writeFileSync(path, 'mine')
    const again = await cli(['spec'], {}, dir)
    t.is(again.code, 1)
    t.regex(again.stderr, /^lxts: File .*config\.json exists\. Remove it first \(ERR_LXTS_EXISTS\)\n$/)
    t.is(readFileSync(path, 'utf8'), 'mine', 'the existing file is untouched')
  })
})

test('spec --rootless and --bundle DIR', async (t) => {
  await withTempDir(async (dir) => {
    const r = await cli(['spec', '--rootless', '--bundle', dir], {}, '/')
    t.is(r.code, 0, r.stderr)
    t.deepEqual(r.calls, [{ op: 'defaultSpec', rootless: true }])
    t.true(existsSync(join(dir, 'config.json')))
    const short = await cli(['spec', '-b', join(dir, 'missing-dir')], {}, '/')
    t.is(short.code, 1, 'a missing bundle directory is an error')
    const missing = join(dir, 'missing-dir')
    t.is(short.stderr, `lxts: bundle directory ${missing}: no such file or directory (ERR_LXTS_BUNDLE, field --bundle)\n`)
    t.false(existsSync(missing), 'nothing is created')
    writeFileSync(join(dir, 'file'), '')
    const file = await cli(['spec', '-b', join(dir, 'file')], {}, '/')
    t.is(file.code, 1)
    t.is(file.stderr, `lxts: bundle directory ${join(dir, 'file')}: not a directory (ERR_LXTS_BUNDLE, field --bundle)\n`)
  })
})

test('features: the runtime-spec shape engines read, true to what is implemented', async (t) => {
  const r = await cli(['features'])
  t.is(r.code, 0)
  const features: unknown = JSON.parse(r.stdout)
  t.deepEqual(features, FEATURES)
  t.is(FEATURES.ociVersionMin, '1.0.0')
  t.is(FEATURES.ociVersionMax, '1.3.0')
  t.deepEqual(FEATURES.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'])
  t.deepEqual(FEATURES.linux.namespaces, ['pid', 'network', 'ipc', 'uts', 'mount', 'user', 'cgroup', 'time'])
  t.is(FEATURES.linux.capabilities.length, 41)
  t.deepEqual(FEATURES.linux.cgroup, { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false })
  t.true(FEATURES.linux.mountExtensions.idmap.enabled, 'idmapped binds (test/integration/idmap.spec.ts): containerd may enable user namespaces')
  t.true(FEATURES.mountOptions.includes('idmap') && FEATURES.mountOptions.includes('ridmap'))
  t.true(FEATURES.mountOptions.includes('rro'), 'recursive read-only (test/integration/mounts.spec.ts): containerd may use it')
  t.true(FEATURES.linux.seccomp.enabled)
  t.true(FEATURES.linux.seccomp.actions?.includes('SCMP_ACT_NOTIFY'), 'seccomp user notification (listenerPath)')
  t.is(FEATURES.annotations['org.lxts.version'], '0.1.0')
  t.deepEqual(r.calls, [])
})

test('--log --log-format json: the last line is an error naming code, path and syscall', async (t) => {
  await withTempDir(async (dir) => {
    const log = join(dir, 'log.json')
    const error = new FakeLxtsError('ERR_LXTS_MOUNT', 'cannot set up /proc', { path: '/r/proc', syscall: 'mount', errno: 1 })
    const r = await cli(['--root', dir, '--log', log, '--log-format', 'json', '--debug', 'create', '--bundle', dir, 'c1'], { createError: error })
    t.is(r.code, 1)
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n').map((line): unknown => JSON.parse(line))
    t.true(lines.length >= 2, 'a debug line, then the error')
    const last = lines.at(-1)
    t.like(last, { level: 'error', msg: 'cannot set up /proc (ERR_LXTS_MOUNT, path /r/proc, syscall mount, EPERM)', code: 'ERR_LXTS_MOUNT', path: '/r/proc', syscall: 'mount', errno: 1 })
    const time = last !== null && typeof last === 'object' ? Reflect.get(last, 'time') : undefined
    t.true(typeof time === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(time), 'RFC 3339 time')
  })
})

test('a usage error also reaches the json log (found before yargs produced argv)', async (t) => {
  await withTempDir(async (dir) => {
    const log = join(dir, 'log.json')
    const r = await cli(['--log', log, '--log-format=json', 'exec', 'c1'])
    t.is(r.code, 2)
    const last: unknown = JSON.parse(readFileSync(log, 'utf8').trimEnd().split('\n').at(-1) ?? '')
    t.like(last, { level: 'error', code: 'ERR_LXTS_USAGE' })
  })
})

test('the text log format is logrus-like', (t) => {
  const line = formatLogLine('text', 'error', 'bad "thing"', { code: 'ERR_LXTS_USAGE' }, new Date(0))
  t.is(line, 'time="1970-01-01T00:00:00.000Z" level=error msg="bad \\"thing\\"" code="ERR_LXTS_USAGE"\n')
})

test('sniffLogOptions reads both flag spellings and stops at --', (t) => {
  t.deepEqual(sniffLogOptions(['--log', '/l', '--log-format', 'json', '--debug', 'state', 'x']), { file: '/l', format: 'json', debug: true })
  t.deepEqual(sniffLogOptions(['--log=/l', '--log-format=json', 'run', '--', '--log', '/other']), { file: '/l', format: 'json', debug: false })
})
