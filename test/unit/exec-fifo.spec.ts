import test from 'ava'

import { checkFifo } from '../../ts/lifecycle/container.js'
import { LxtsError } from '../../ts/errors.js'

test('exactly one 0 byte means the exec succeeded', (t) => {
  t.notThrows(() => checkFifo('c1', Buffer.from([0])))
})

test('nothing means the init died first', (t) => {
  const e = t.throws(() => checkFifo('c1', Buffer.alloc(0)), { instanceOf: LxtsError })
  t.is(e?.code, 'ERR_LXTS_EXEC_FAILED')
})

test('a JSON error line carries its code', (t) => {
  const line = '{"code":"ERR_LXTS_EXEC_NOT_FOUND","message":"exec /bin/x: No such file or directory","errno":2,"path":"/bin/x"}\n'
  const e = t.throws(() => checkFifo('c1', Buffer.from(line)), { instanceOf: LxtsError })
  t.like(e, { code: 'ERR_LXTS_EXEC_NOT_FOUND', errno: 2, path: '/bin/x' })
  t.throws(() => checkFifo('c1', Buffer.from('{"message":"permission denied"}')), { code: 'ERR_LXTS_EXEC_FAILED' } as never)
})

test('anything else is a protocol error', (t) => {
  t.throws(() => checkFifo('c1', Buffer.from([0, 0])), { code: 'ERR_LXTS_PROTOCOL' } as never)
  t.throws(() => checkFifo('c1', Buffer.from('garbage')), { code: 'ERR_LXTS_PROTOCOL' } as never)
})
