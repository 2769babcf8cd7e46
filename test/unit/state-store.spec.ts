import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'

import { LxtsError } from '../../ts/errors.js'
import { StateStore, assertValidId, writeFileAtomic } from '../../ts/lifecycle/state-store.js'
import type { StoredState } from '../../ts/lifecycle/types.js'

function tmpRoot(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-unit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'root')
}

function state(id: string): StoredState {
  return { ociVersion: '1.2.0', id, status: 'created', pid: 42, startTime: 7, bundle: '/b', rootfs: '/b/rootfs', created: new Date(0).toISOString(), owner: 'root' }
}

test('ids: valid and invalid', (t) => {
  for (const id of ['a', 'c1', 'A.b_c+d-e', '0', 'x'.repeat(1024)]) t.notThrows(() => assertValidId(id), id)
  for (const id of ['', '.', '..', '-a', '_a', '.a', 'a/b', '../x', 'a b', 'x'.repeat(1025), 'é']) {
    const e = t.throws(() => assertValidId(id), { instanceOf: LxtsError }, id)
    t.is(e?.code, 'ERR_LXTS_INVALID_ID')
  }
})

test('claim creates the root 0700 and the id dir; a second claim is ERR_LXTS_EXISTS', async (t) => {
  const store = new StateStore(tmpRoot(t))
  await store.claim('c1')
  await t.throwsAsync(store.claim('c1'), { instanceOf: LxtsError, code: 'ERR_LXTS_EXISTS' })
})

test('concurrent claims of one id: exactly one wins', async (t) => {
  const root = tmpRoot(t)
  const results = await Promise.allSettled(Array.from({ length: 16 }, () => new StateStore(root).claim('race')))
  t.is(results.filter((r) => r.status === 'fulfilled').length, 1)
  for (const r of results) if (r.status === 'rejected') t.is((r.reason as LxtsError).code, 'ERR_LXTS_EXISTS')
})

test('write/read round trip; the write is atomic (no temp files left)', async (t) => {
  const store = new StateStore(tmpRoot(t))
  await store.claim('c1')
  await store.write(state('c1'))
  await store.write({ ...state('c1'), status: 'running' })
  t.is((await store.read('c1')).status, 'running')
  t.deepEqual(readdirSync(store.dir('c1')), ['state.json'])
})

test('writeFileAtomic replaces whole files', async (t) => {
  const dir = tmpRoot(t)
  mkdirSync(dir, { recursive: true })
  const f = join(dir, 'f')
  await Promise.all(Array.from({ length: 20 }, (_, i) => writeFileAtomic(f, String(i).repeat(1000))))
  const text = await readFile(f, 'utf8')
  t.regex(text, /^(\d+)\1*$/)
  t.deepEqual(readdirSync(dir), ['f'])
})

test('missing container is ERR_LXTS_NOT_FOUND', async (t) => {
  const store = new StateStore(tmpRoot(t))
  await t.throwsAsync(store.read('nope'), { instanceOf: LxtsError, code: 'ERR_LXTS_NOT_FOUND' })
})

test('corrupt state is ERR_LXTS_STATE_CORRUPT naming the file', async (t) => {
  const store = new StateStore(tmpRoot(t))
  await store.claim('c1')
  const file = store.file('c1', 'state.json')
  for (const bad of ['{', '[]', '{"id":"c1"}', JSON.stringify({ ...state('c1'), status: 'bogus' }), JSON.stringify(state('c2'))]) {
    writeFileSync(file, bad)
    const e = await t.throwsAsync(store.read('c1'), { instanceOf: LxtsError })
    t.is(e?.code, 'ERR_LXTS_STATE_CORRUPT', bad)
    t.true(e?.message.includes(file))
  }
})

test('list skips corrupt and vanished entries, reports corrupt ones', async (t) => {
  const store = new StateStore(tmpRoot(t))
  for (const id of ['a', 'b', 'c']) {
    await store.claim(id)
    await store.write(state(id))
  }
  writeFileSync(store.file('b', 'state.json'), 'garbage')
  const bad: string[] = []
  const list = await store.list((id) => bad.push(id))
  t.deepEqual(list.map((s) => s.id), ['a', 'c'])
  t.deepEqual(bad, ['b'])
  t.deepEqual(await new StateStore(join(tmpRoot(t), 'none')).list(), [])
})

test('exit.json', async (t) => {
  const store = new StateStore(tmpRoot(t))
  await store.claim('c1')
  t.is(await store.readExit('c1'), undefined)
  writeFileSync(store.file('c1', 'exit.json'), '{"status":0,"signal":9,"exitCode":137}')
  t.deepEqual(await store.readExit('c1'), { exitCode: 137, signal: 9 })
  writeFileSync(store.file('c1', 'exit.json'), 'nope')
  await t.throwsAsync(store.readExit('c1'), { code: 'ERR_LXTS_STATE_CORRUPT' })
})

test('remove deletes files and the rootfs mount points, then the dir', async (t) => {
  const store = new StateStore(tmpRoot(t))
  await store.claim('c1')
  await store.write(state('c1'))
  mkdirSync(join(store.file('c1', 'rootfs'), 'dev', 'pts'), { recursive: true })
  writeFileSync(join(store.file('c1', 'rootfs'), 'dev', 'null'), '')
  await store.remove('c1')
  t.false(await store.exists('c1'))
  await t.notThrowsAsync(store.remove('c1'))
})
