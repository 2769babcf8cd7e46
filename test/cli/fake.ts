/**
 * A fake library and context so CLI tests parse and dispatch real argument vectors without
 * containers, the native binding or the process's own stdio.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CliContext } from '../../ts/cli/context.js'
import type { CliContainer, CliLibrary, CliRuntime, ContainerState, CreateOptions, ExitStatus, OciConfig } from '../../ts/cli/library.js'
import { loadYargs } from '../../ts/cli/load-yargs.js'
import { Logger, sniffLogOptions } from '../../ts/cli/log.js'
import { runCli } from '../../ts/cli/run-cli.js'

/** One call the fake library received. */
export type Call =
  | { op: 'openRuntime'; root: string | undefined }
  | { op: 'create' | 'run'; id: string; options: CreateOptions }
  | { op: 'get' | 'start' | 'state' | 'wait'; id: string }
  | { op: 'kill'; id: string; signal: string | number | undefined; all: boolean | undefined }
  | { op: 'delete'; id: string; force: boolean | undefined }
  | { op: 'list' }
  | { op: 'defaultSpec'; rootless: boolean | undefined }
  | { op: 'sandboxConfig'; argv: string[]; id: string; root: string }
  | { op: 'exec'; id: string; process: unknown; options: object }

/** How the fake library behaves. */
export interface FakeBehaviour {
  /** Containers that exist (by id); `get` of any other id fails with ERR_LXTS_NOT_FOUND. */
  states?: ContainerState[]
  /** What `run` returns. */
  runStatus?: ExitStatus
  /** Thrown by `create` (and `run`) when set. */
  createError?: Error
}

/** An error shaped like the library's `LxtsError`. */
export class FakeLxtsError extends Error {
  readonly code: string
  readonly path?: string
  readonly syscall?: string
  readonly errno?: number
  constructor(code: string, message: string, details: { path?: string; syscall?: string; errno?: number } = {}) {
    super(message)
    this.code = code
    if (details.path !== undefined) this.path = details.path
    if (details.syscall !== undefined) this.syscall = details.syscall
    if (details.errno !== undefined) this.errno = details.errno
  }
}

/** A state for tests. */
export function stateOf(id: string, status: ContainerState['status'] = 'running', pid = 4242): ContainerState {
  return {
    ociVersion: '1.2.0',
    id,
    status,
    pid,
    bundle: `/bundles/${id}`,
    rootfs: `/bundles/${id}/rootfs`,
    created: '2026-01-01T00:00:00.000Z',
    owner: 'root',
  }
}

function fakeLibrary(calls: Call[], behaviour: FakeBehaviour): CliLibrary {
  const container = (id: string): CliContainer => ({
    id,
    state: async () => {
      calls.push({ op: 'state', id })
      return behaviour.states?.find((s) => s.id === id) ?? stateOf(id)
    },
    start: async () => void calls.push({ op: 'start', id }),
    kill: async (signal, options) => void calls.push({ op: 'kill', id, signal, all: options?.all }),
    delete: async (options) => void calls.push({ op: 'delete', id, force: options?.force }),
    wait: async () => {
      calls.push({ op: 'wait', id })
      return behaviour.runStatus ?? { exitCode: 0, signal: null }
    },
    exec: async (process, options) => {
      calls.push({ op: 'exec', id, process, options: options ?? {} })
      const status = behaviour.runStatus ?? { exitCode: 0, signal: null }
      return { pid: 4242, startTime: 1, stdio: [null, null, null], terminal: undefined, resize: async () => {}, wait: async () => status, kill: () => {} }
    },
    logs: async function* () {
      yield Buffer.from('')
    },
  })
  const runtime: CliRuntime = {
    create: async (id, options) => {
      calls.push({ op: 'create', id, options })
      if (behaviour.createError !== undefined) throw behaviour.createError
      return container(id)
    },
    get: async (id) => {
      calls.push({ op: 'get', id })
      if (!(behaviour.states ?? []).some((s) => s.id === id)) {
        throw new FakeLxtsError('ERR_LXTS_NOT_FOUND', `container ${id} does not exist`)
      }
      return container(id)
    },
    list: async () => {
      calls.push({ op: 'list' })
      return behaviour.states ?? []
    },
    run: async (id, options) => {
      calls.push({ op: 'run', id, options })
      if (behaviour.createError !== undefined) throw behaviour.createError
      return behaviour.runStatus ?? { exitCode: 0, signal: null }
    },
  }
  const spec: OciConfig = { ociVersion: '1.2.0', process: { args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 } }, root: { path: 'rootfs' } }
  return {
    openRuntime: (options) => {
      calls.push({ op: 'openRuntime', root: options.root })
      return runtime
    },
    readProcessFile: async () => {
      return { args: ['true'] }
    },
    defaultSpec: (options) => {
      calls.push({ op: 'defaultSpec', rootless: options.rootless })
      return spec
    },
    sandboxConfig: (argv, options) => {
      calls.push({ op: 'sandboxConfig', argv, id: options.id, root: options.root })
      return { ...spec, process: { args: argv, cwd: '/', user: { uid: 0, gid: 0 } } }
    },
  }
}

/** The outcome of one fake CLI run. */
export interface FakeRun {
  code: number
  stdout: string
  stderr: string
  calls: Call[]
  /** How many times signals were ignored and restored (foreground run). */
  signalScopes: { ignored: number; restored: number }
}

/** How a command line is run against a context: yargs by default (fast-path.spec also passes the fast path). */
export type Runner = (args: string[], ctx: CliContext) => Promise<number>

const yargsRunner: Runner = async (args, ctx) => runCli(args, ctx, await loadYargs())

/** Runs `lxts <args>` in-process against the fake library. */
export async function cli(args: string[], behaviour: FakeBehaviour = {}, cwd = '/work/bundle', runner: Runner = yargsRunner): Promise<FakeRun> {
  const calls: Call[] = []
  let stdout = ''
  let stderr = ''
  const signalScopes = { ignored: 0, restored: 0 }
  const library = fakeLibrary(calls, behaviour)
  const ctx: CliContext = {
    library: async () => library,
    cwd,
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    logger: new Logger(sniffLogOptions(args), (error) => {
      throw error
    }),
    ignoreSignals: () => {
      signalScopes.ignored++
      return () => void signalScopes.restored++
    },
    randomHex: (bytes) => 'ab'.repeat(bytes),
    exitCode: 0,
  }
  const code = await runner(args, ctx)
  return { code, stdout, stderr, calls, signalScopes }
}

/** A temporary directory, removed after the callback. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'lxts-cli-test-'))
  try {
    return await body(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
