import test from 'ava'

import { LxtsError } from '../../ts/errors.js'
import { STATUSES, TRANSITIONS, VERBS, assertCan, can, next, type ContainerStatus, type Outcome, type Verb } from '../../ts/lifecycle/status.js'

/** The expected table, written out in full: [status, verb] → outcome or undefined (refused). */
const expected: Record<ContainerStatus, Record<Verb, Outcome | undefined>> = {
  creating: { state: 'creating', start: undefined, kill: undefined, delete: undefined, forceDelete: 'deleted', pause: undefined, resume: undefined },
  created: { state: 'created', start: 'running', kill: 'created', delete: undefined, forceDelete: 'deleted', pause: undefined, resume: undefined },
  running: { state: 'running', start: undefined, kill: 'running', delete: undefined, forceDelete: 'deleted', pause: 'paused', resume: undefined },
  paused: { state: 'paused', start: undefined, kill: 'paused', delete: undefined, forceDelete: 'deleted', pause: undefined, resume: 'running' },
  stopped: { state: 'stopped', start: undefined, kill: undefined, delete: 'deleted', forceDelete: 'deleted', pause: undefined, resume: undefined },
}

for (const status of STATUSES) {
  for (const verb of VERBS) {
    const want = expected[status][verb]
    test(`${verb} in ${status} → ${want ?? 'refused'}`, (t) => {
      t.is(next(verb, status), want)
      t.is(can(verb, status), want !== undefined)
      if (want === undefined) {
        const e = t.throws(() => assertCan(verb, status, 'c1'), { instanceOf: LxtsError })
        t.is(e?.code, 'ERR_LXTS_INVALID_STATE')
        t.true(e?.message.includes(`container "c1": it is ${status}`))
      } else {
        t.notThrows(() => assertCan(verb, status, 'c1'))
      }
    })
  }
}

test('the table has exactly the four OCI statuses and paused', (t) => {
  t.deepEqual(Object.keys(TRANSITIONS).sort(), ['created', 'creating', 'paused', 'running', 'stopped'])
})

test('message reads like runc', (t) => {
  t.throws(() => assertCan('start', 'running', 'c1'), { message: 'cannot start container "c1": it is running' })
})
