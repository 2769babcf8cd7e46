/**
 * lxts, the library: create and drive OCI containers from TypeScript.
 *
 * ```ts
 * import { Runtime, sandboxConfig } from 'lxts'
 * const rt = new Runtime({ root: '/run/lxts' })
 * const exit = await rt.run('c1', { config: sandboxConfig(['echo', 'hi'], { id: 'c1', root: rt.root }) })
 * ```
 *
 * This module never loads the CLI (yargs); the native binding is loaded on first use.
 */
export { Runtime, type CreateOptions, type RuntimeOptions } from './lifecycle/runtime.js'
export { Container } from './lifecycle/container.js'
export type { ContainerState, ExitStatus } from './lifecycle/types.js'
export type { ContainerEvent, EventsOptions, MemoryEntry, Stats } from './lifecycle/events.js'
export { mergeResources } from './lifecycle/update.js'
export type { StdioOption, StdioSpec } from './lifecycle/helper.js'
export { readProcessFile, type ExecHandle, type ExecOptions, type ExecProcess } from './lifecycle/exec.js'
export type { LogOptions } from './lifecycle/logs.js'
export { STATUSES, TRANSITIONS, assertCan, can, type ContainerStatus, type Verb } from './lifecycle/status.js'
export { DEFAULT_ROOT, assertValidId, defaultRoot, isRootless } from './lifecycle/state-store.js'
export { LxtsError, ERROR_CODES, isLxtsError, type ConfigIssue, type ErrorCode } from './errors.js'
export { defaultSpec, type DefaultSpecOptions } from './config/defaults.js'
export { sandboxConfig, type SandboxOptions } from './config/sandbox.js'
export { parseConfig, parseConfigText } from './config/parse.js'
export { validateConfig, assertValidConfig, CAPABILITIES, RLIMITS, NAMESPACE_TYPES, type ValidateOptions } from './config/validate.js'
export { buildPlan, type Plan, type PlanMode } from './config/plan.js'
export { signalNumber, signalName, SIGNALS } from './signals.js'
/** The cgroup primitives behind `lxts cgroup …`: subsystems, mount, create, attach, exec, freeze, watch, … */
export * as cgroups from './cgroup/index.js'
export type * from './config/types.js'
