import test from 'ava'

import { LxtsError } from '../../ts/errors.js'
import { SIGRTMAX, SIGRTMIN, signalName, signalNumber } from '../../ts/signals.js'

test('names, SIG-prefixed names, lower case and numbers', (t) => {
  for (const s of ['TERM', 'SIGTERM', 'sigterm', 'term', '15', 15]) t.is(signalNumber(s), 15, String(s))
  t.is(signalNumber('KILL'), 9)
  t.is(signalNumber('SIGHUP'), 1)
  t.is(signalNumber('USR1'), 10)
  t.is(signalNumber('USR2'), 12)
  t.is(signalNumber('CHLD'), 17)
  t.is(signalNumber('CONT'), 18)
  t.is(signalNumber('STOP'), 19)
  t.is(signalNumber('WINCH'), 28)
  t.is(signalNumber('SYS'), 31)
})

test('the full standard table 1..31', (t) => {
  const names = ['HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM', 'STKFLT',
    'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'IO', 'PWR', 'SYS']
  names.forEach((n, i) => {
    t.is(signalNumber(n), i + 1, n)
    t.is(signalName(i + 1).startsWith('SIG'), true)
    t.is(signalNumber(signalName(i + 1)), i + 1)
  })
})

test('real-time signals', (t) => {
  t.is(signalNumber('RTMIN'), SIGRTMIN)
  t.is(signalNumber('SIGRTMIN+1'), 35)
  t.is(signalNumber('RTMIN+30'), 64)
  t.is(signalNumber('RTMAX'), SIGRTMAX)
  t.is(signalNumber('SIGRTMAX-2'), 62)
  t.is(signalName(36), 'SIGRTMIN+2')
  t.is(signalNumber('64'), 64)
})

test('unknown signals are ERR_LXTS_USAGE', (t) => {
  for (const s of ['FOO', 'SIGFOO', '0', '65', 0, -1, 1.5, 'RTMIN+31', 'RTMAX+1', 'RTMIN-1', '']) {
    const e = t.throws(() => signalNumber(s), { instanceOf: LxtsError }, String(s))
    t.is(e?.code, 'ERR_LXTS_USAGE')
  }
})
