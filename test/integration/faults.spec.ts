/**
 * Faults: lxts killed (SIGKILL) at named steps of create, start and delete, the monitor and the
 * helper killed, a --root that is full, a state file cut short, a bundle removed under a running
 * container. Afterwards `delete --force` succeeds and nothing is left (the harness checks
 * processes, cgroups, state dirs and mounts). Steps are reached deterministically through the
 * test-only `LXTS_TEST_PAUSE_AT` hook (ts/lifecycle/test-pause.ts): lxts SIGSTOPs itself there.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { cgroupDirsOf, makeBundle, processAlive, processesOf, removeBundle } from '../helpers/bundle.js'
import { describe, lxts, type CliResult } from '../helpers/cli.js'
import { harness } from '../helpers/harness.js'
import { waitFor } from '../helpers/wait.js'
import { isHelper } from '../../ts/lifecycle/recover.js'

const h = harness(test)

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  } catch {
    return undefined
  }
}

/** Children of `pid` (every thread's list). */
function childrenOf(pid: number): number[] {
  const out: number[] = []
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim()
      if (text !== '') out.push(...text.split(/\s+/).map(Number))
    }
  } catch {
    // gone
  }
  return out
}

/**
 * Run the CLI with `LXTS_TEST_PAUSE_AT=step`; once it stopped itself there, `atStop` runs (it may
 * kill helpers), then the CLI is SIGKILLed. Fails the test if the step is never reached.
 */
async function killAt(t: ExecutionContext, step: string, args: string[], atStop?: (pid: number) => void): Promise<CliResult> {
  let cliPid = 0
  let reached = false
  const r = h.cli(args, { env: { ...process.env, LXTS_TEST_PAUSE_AT: step }, onSpawn: (p) => (cliPid = p), timeout: 20_000 })
  const stopped = await waitFor(() => (procState(cliPid) === 'T' ? true : undefined), 15_000, 10)
  if (stopped === true) {
    reached = true
    atStop?.(cliPid)
    process.kill(cliPid, 'SIGKILL')
  }
  const res = await r
  t.true(reached, `lxts never reached ${step}: ${describe(res)}`)
  t.is(res.signal, 'SIGKILL', describe(res))
  return res
}

async function assertCleanAfterForceDelete(t: ExecutionContext, id: string): Promise<void> {
  const d = await h.cli(['delete', '--force', id])
  if (d.code !== 0) t.regex(d.stderr, /ERR_LXTS_NOT_FOUND/, `delete --force must succeed: ${describe(d)}`)
  t.false(existsSync(join(h.root(), id)), 'no state dir')
  const gone = await waitFor(() => (processesOf(id).length === 0 ? true : undefined), 5000)
  t.true(gone, `no process left: ${processesOf(id).join(' ')}`)
  t.deepEqual(cgroupDirsOf(id), [], 'no cgroup left')
}

for (const step of ['create:claimed', 'create:spawned', 'create:recorded']) {
  h.it(`lxts create SIGKILLed at ${step}: delete --force succeeds and leaves nothing`, async (t) => {
    const b = h.bundle(['sleep', '1000'])
    await killAt(t, step, ['create', '-b', b.dir, b.id])
    await assertCleanAfterForceDelete(t, b.id)
  })
}

h.it('lxts run -d SIGKILLed at create:spawned with the monitor helper SIGKILLed too: delete --force leaves nothing', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  await killAt(t, 'create:spawned', ['run', '-d', '-b', b.dir, b.id], (cli) => {
    for (const c of childrenOf(cli)) process.kill(c, 'SIGKILL')
  })
  await assertCleanAfterForceDelete(t, b.id)
})

h.it('lxts start SIGKILLed while opening exec.fifo: delete --force leaves nothing', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  t.is((await h.cli(['create', '-b', b.dir, b.id])).code, 0)
  await killAt(t, 'start:opening', ['start', b.id])
  await assertCleanAfterForceDelete(t, b.id)
})

h.it('lxts delete SIGKILLed after killing the init, before removing cgroups: a second delete --force finishes', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  t.is((await h.cli(['run', '-d', '-b', b.dir, b.id])).code, 0)
  await killAt(t, 'delete:killed', ['delete', '--force', b.id])
  await assertCleanAfterForceDelete(t, b.id)
})

h.it('the monitor of run -d SIGKILLed: state, kill and delete still work', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  t.is((await h.cli(['run', '-d', '-b', b.dir, b.id])).code, 0)
  const st = JSON.parse(readFileSync(join(h.root(), b.id, 'state.json'), 'utf8')) as { monitorPid?: number; pid: number }
  t.truthy(st.monitorPid)
  process.kill(st.monitorPid ?? 0, 'SIGKILL')
  await waitFor(() => (processAlive(st.monitorPid ?? 0) ? undefined : true))
  const s = await h.cli(['state', b.id])
  t.is(s.code, 0, describe(s))
  t.is((await h.cli(['kill', b.id, 'KILL'])).code, 0)
  await waitFor(() => (processAlive(st.pid) ? undefined : true))
  const w = await h.cli(['state', b.id])
  t.is((JSON.parse(w.stdout) as { status: string }).status, 'stopped', describe(w))
  await assertCleanAfterForceDelete(t, b.id)
})

h.it('a state.json cut short: ERR_LXTS_STATE_CORRUPT naming the file', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  t.is((await h.cli(['run', '-d', '-b', b.dir, b.id])).code, 0)
  const file = join(h.root(), b.id, 'state.json')
  const good = readFileSync(file)
  truncateSync(file, Math.floor(good.length / 2))
  const s = await h.cli(['state', b.id])
  t.not(s.code, 0)
  t.regex(s.stderr, /ERR_LXTS_STATE_CORRUPT/, describe(s))
  t.true(s.stderr.includes(file), `names the file: ${describe(s)}`)
  const l = await h.cli(['list'])
  t.is(l.code, 0, `list survives one corrupt entry: ${describe(l)}`)
  writeFileSync(file, good)
  await assertCleanAfterForceDelete(t, b.id)
})

// Recovery waits for a run -d container's monitor, which it tells from an engine's shim by
// its name (the helper runs from a sealed image, so its exe names no file to go by).
h.it('recovery tells a run -d monitor (and nothing else) for an lxts helper', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  t.is((await h.cli(['run', '-d', '-b', b.dir, b.id])).code, 0)
  const st = JSON.parse(readFileSync(join(h.root(), b.id, 'state.json'), 'utf8')) as { monitorPid?: number; pid: number }
  t.true(await isHelper(st.monitorPid ?? 0), 'the monitor')
  t.false(await isHelper(st.pid), 'the container process (sleep)')
  t.false(await isHelper(process.pid), 'a Node process')
  t.false(await isHelper(1), 'the host init')
  await assertCleanAfterForceDelete(t, b.id)
})

// With state.json unreadable, delete --force recovers the cgroups from the saved config.json
// (ts/lifecycle/recover.ts): it kills every process in them, the init included, and removes them.
for (const [what, spoil] of [
  ['cut short', (file: string, good: Buffer) => truncateSync(file, Math.floor(good.length / 2))],
  ['removed', (file: string) => rmSync(file)],
  ['garbage, container paused', (file: string) => writeFileSync(file, '\0\0not json')],
] as const) {
  h.it(`a state.json ${what}: delete --force still kills the init and leaves nothing`, async (t) => {
    const b = h.bundle(['sh', '-c', 'sleep 1000 & sleep 1000 & wait'])
    t.is((await h.cli(['run', '-d', '-b', b.dir, b.id])).code, 0)
    const file = join(h.root(), b.id, 'state.json')
    const good = readFileSync(file)
    const st = JSON.parse(good.toString('utf8')) as { pid: number; monitorPid?: number }
    if (what.includes('paused')) t.is((await h.cli(['pause', b.id])).code, 0)
    t.true(await waitFor(() => (processesOf(b.id).length >= 3 ? true : undefined), 5000), 'init + 2 sleeps')
    spoil(file, good)
    const d = await h.cli(['delete', '--force', b.id])
    t.is(d.code, 0, describe(d))
    t.false(processAlive(st.pid), 'the init is dead')
    t.false(processAlive(st.monitorPid ?? 0), 'the monitor is gone')
    t.deepEqual(processesOf(b.id), [], 'no process left')
    t.deepEqual(cgroupDirsOf(b.id), [], 'no cgroup left')
    t.false(existsSync(join(h.root(), b.id)), 'no state dir')
  })
}

h.it('the bundle removed under a running container: state, kill and delete still work', async (t) => {
  const b = h.bundle(['sleep', '1000'])
  t.is((await h.cli(['run', '-d', '-b', b.dir, b.id])).code, 0)
  rmSync(b.dir, { recursive: true, force: true })
  const s = await h.cli(['state', b.id])
  t.is(s.code, 0, describe(s))
  t.is((JSON.parse(s.stdout) as { status: string }).status, 'running')
  t.is((await h.cli(['kill', b.id, 'TERM'])).code, 0)
  await assertCleanAfterForceDelete(t, b.id)
})

h.it('--root on a full filesystem: create fails clearly and nothing is half-written', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'lxts-fullroot-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', root])
  t.teardown(() => {
    execFileSync('umount', ['-l', root])
    rmSync(root, { recursive: true, force: true })
  })
  // fill it, leaving a few bytes
  try {
    writeFileSync(join(root, 'filler'), Buffer.alloc(64 * 1024))
  } catch {
    // ENOSPC: full, as wanted
  }
  const b = makeBundle(['sleep', '1000'])
  h.track(b.id)
  t.teardown(() => removeBundle(b.dir))
  const r = await lxts(root, ['create', '-b', b.dir, b.id])
  t.not(r.code, 0, describe(r))
  t.regex(r.stderr, /ENOSPC|no space/i, describe(r))
  t.regex(r.stderr, /ERR_LXTS_\w+/, describe(r))
  t.deepEqual(readdirSync(root).filter((e) => e !== 'filler'), [], 'nothing half-written under --root')
  t.deepEqual(processesOf(b.id), [])
  t.deepEqual(cgroupDirsOf(b.id), [])
  // with space again, the same id works and a state file is never partial
  rmSync(join(root, 'filler'))
  const ok = await lxts(root, ['create', '-b', b.dir, b.id])
  t.is(ok.code, 0, describe(ok))
  JSON.parse(readFileSync(join(root, b.id, 'state.json'), 'utf8'))
  t.is((await lxts(root, ['delete', '--force', b.id])).code, 0)
  t.false(existsSync(join(root, b.id)))
  mkdirSync(join(root, 'x')) // the mount is still usable (teardown unmounts it)
})
