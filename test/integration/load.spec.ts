/**
 * Load: 100 containers run (create, start, wait, delete) with 8 in flight while `list` and
 * `state` run in loops alongside: every exit status is the container's, every list/state output
 * parses, and nothing leaks (the harness checks). Two creates of one id at once: exactly one wins.
 */
import test from 'ava'
import { describe } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'

const h = harness(test)
const TOTAL = 100
const IN_FLIGHT = 8

h.it(`${TOTAL} containers, ${IN_FLIGHT} in flight, with list and state looping alongside`, async (t) => {
  t.timeout(600_000)
  const bundles = Array.from({ length: TOTAL }, (_, i) => h.bundle(['sh', '-c', `exit ${i % 7}`]))
  const wrong: string[] = []
  let done = false
  let reads = 0
  const readers = [0, 1].map(async (k) => {
    while (!done) {
      if (k === 0) {
        const l = await h.cli(['list', '--format', 'json'])
        reads++
        try {
          const arr = JSON.parse(l.stdout) as { id: string; status: string }[] | null
          if (l.code !== 0 || (arr !== null && !Array.isArray(arr))) wrong.push(`list: ${describe(l)}`)
        } catch {
          wrong.push(`list output does not parse: ${describe(l)}`)
        }
      } else {
        const b = bundles[Math.floor(Math.random() * TOTAL)]
        if (b === undefined) continue
        const s = await h.cli(['state', b.id])
        reads++
        if (s.code === 0) {
          try {
            JSON.parse(s.stdout)
          } catch {
            wrong.push(`state output does not parse: ${describe(s)}`)
          }
        } else if (!/ERR_LXTS_NOT_FOUND/.test(s.stderr)) wrong.push(`state: ${describe(s)}`)
      }
    }
  })
  let next = 0
  const workers = Array.from({ length: IN_FLIGHT }, async () => {
    for (;;) {
      const i = next++
      const b = bundles[i]
      if (b === undefined) return
      const r = await h.cli(['run', '--rm', '-b', b.dir, b.id], { timeout: 60_000 })
      if (r.code !== i % 7) wrong.push(`container ${i}: expected exit ${i % 7}: ${describe(r)}`)
    }
  })
  const start = Date.now()
  await Promise.all(workers)
  done = true
  await Promise.all(readers)
  t.log(`${TOTAL} runs in ${Date.now() - start} ms, ${reads} list/state reads alongside`)
  t.deepEqual(wrong.slice(0, 5), [], `${wrong.length} wrong results`)
  const l = await h.cli(['list', '--format', 'json'])
  t.deepEqual(JSON.parse(l.stdout) ?? [], [], 'every container deleted')
})

h.it('two creates of the same id at once: exactly one succeeds, the other is ERR_LXTS_EXISTS', async (t) => {
  for (let round = 0; round < 5; round++) {
    const b = h.bundle(['sleep', '1000'])
    const [x, y] = await Promise.all([h.cli(['create', '-b', b.dir, b.id]), h.cli(['create', '-b', b.dir, b.id])])
    if (x === undefined || y === undefined) return t.fail()
    const codes = [x.code, y.code].sort()
    t.deepEqual(codes, [0, 1], `${describe(x)}\n${describe(y)}`)
    const loser = x.code === 0 ? y : x
    t.regex(loser.stderr, /ERR_LXTS_EXISTS/, describe(loser))
    const s = await h.cli(['state', b.id])
    t.is((JSON.parse(s.stdout) as { status: string }).status, 'created', 'the winner is intact')
    t.is((await h.cli(['delete', '--force', b.id])).code, 0)
  }
})
