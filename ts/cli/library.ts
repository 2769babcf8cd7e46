/**
 * What the CLI needs from the library, as structural types, so tests can inject a fake.
 * Only types are imported here: the library itself is loaded by {@link loadLibrary} when
 * a verb needs it.
 */
import type { ContainerState, CreateOptions, ExecHandle, ExecOptions, ExecProcess, ExitStatus, RuntimeOptions } from '../index.js'

export type { ContainerState, CreateOptions, ExecHandle, ExecOptions, ExecProcess, ExitStatus, RuntimeOptions }

/** An OCI `config.json` as the library types it. */
export type OciConfig = NonNullable<CreateOptions['config']>

/** The `Container` methods the CLI calls. */
export interface CliContainer {
  readonly id: string
  state(): Promise<ContainerState>
  start(): Promise<void>
  kill(signal?: string | number, options?: { all?: boolean }): Promise<void>
  delete(options?: { force?: boolean }): Promise<void>
  wait(): Promise<ExitStatus>
  exec(process: ExecProcess, options?: ExecOptions): Promise<ExecHandle>
  logs(options?: { follow?: boolean }): AsyncIterable<Buffer>
}

/** The `Runtime` methods the CLI calls. */
export interface CliRuntime {
  create(id: string, options: CreateOptions): Promise<CliContainer>
  get(id: string): Promise<CliContainer>
  list(): Promise<ContainerState[]>
  run(id: string, options: CreateOptions): Promise<ExitStatus>
}

/** The library surface used by the verbs. */
export interface CliLibrary {
  openRuntime(options: RuntimeOptions): CliRuntime
  defaultSpec(options: { rootless?: boolean }): OciConfig
  sandboxConfig(argv: string[], options: { id: string; root: string }): OciConfig
  readProcessFile(file: string): Promise<ExecProcess>
}

/** Loads the real library (and through it, lazily, the native binding). */
export async function loadLibrary(): Promise<CliLibrary> {
  const lib = await import('../index.js')
  return {
    openRuntime: (options) => new lib.Runtime(options),
    defaultSpec: (options) => lib.defaultSpec(options),
    sandboxConfig: (argv, options) => lib.sandboxConfig(argv, options),
    readProcessFile: (file) => lib.readProcessFile(file),
  }
}
