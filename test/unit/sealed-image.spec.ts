/**
 * The binding's sealed image of the helper (CVE-2019-5736) and the guard checked before each
 * spawn: only the image it made, under the fd number it returned, passes.
 */
import { closeSync, openSync, readFileSync, statfsSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'

import { REPO } from '../helpers/env.js'
import { isSealedFd, sealedImage } from '../../ts/native.js'

const helper = join(REPO, 'lxts-helper')
const asRoot = process.getuid?.() === 0

test('a memfd image is the helper, and the guard passes it', async (t) => {
  const fd = await sealedImage(helper, true)
  t.teardown(() => closeSync(fd))
  t.deepEqual(readFileSync(`/proc/self/fd/${fd}`), readFileSync(helper))
  t.true(await isSealedFd(fd))
})

test('as root, the image is the helper through a read-only overlay', async (t) => {
  if (!asRoot) return t.pass('needs root (fsopen overlay)')
  const fd = await sealedImage(helper, false)
  t.teardown(() => closeSync(fd))
  t.is(statfsSync(`/proc/self/fd/${fd}`).type, 0x794c7630, 'overlayfs')
  t.deepEqual(readFileSync(`/proc/self/fd/${fd}`), readFileSync(helper))
  t.true(await isSealedFd(fd))
})

// Serial: no other test of this file opens or seals an fd between its close and reopen.
test.serial('the guard refuses negative, closed and foreign fd numbers, and a number reused after close', async (t) => {
  t.false(await isSealedFd(-1))
  t.false(await isSealedFd(1_000_000), 'not open')
  const plain = openSync(helper, 'r')
  t.false(await isSealedFd(plain), 'the helper file itself')
  closeSync(plain)
  const fd = await sealedImage(helper, !asRoot)
  closeSync(fd)
  t.false(await isSealedFd(fd), 'closed')
  // An open takes the lowest free number, and making the image freed numbers below `fd` (the
  // file it was made from): fill those until the helper's file lands on `fd` itself.
  const fillers: number[] = []
  let reused = openSync(helper, 'r')
  while (reused < fd) {
    fillers.push(reused)
    reused = openSync(helper, 'r')
  }
  t.teardown(() => [reused, ...fillers].forEach((n) => closeSync(n)))
  t.is(reused, fd, 'the closed number, open again')
  t.false(await isSealedFd(reused), 'its number reused by another file')
  const other = await sealedImage('/bin/true', true)
  t.teardown(() => closeSync(other))
  t.true(await isSealedFd(other), 'an image of another file passes under its own number')
  // The same sealed file under a number the binding did not hand out (is_sealed alone would pass it).
  const again = openSync(`/proc/self/fd/${other}`, 'r')
  t.teardown(() => closeSync(again))
  t.false(await isSealedFd(again), 'a second fd of the image, not made by sealedImage')
})

test('a missing file is an error naming it', async (t) => {
  const e = await t.throwsAsync(sealedImage('/nonexistent/lxts-helper', false))
  t.regex(e?.message ?? '', /\/nonexistent\/lxts-helper/)
})
