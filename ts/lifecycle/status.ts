/** The OCI container statuses and which verb may run in which status: the lifecycle as data. */
import { LxtsError } from '../errors.js'

/** OCI statuses. */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped'

/** Every status. */
export const STATUSES: readonly ContainerStatus[] = ['creating', 'created', 'running', 'paused', 'stopped']

/** Verbs that act on an existing container. */
export type Verb = 'start' | 'kill' | 'delete' | 'forceDelete' | 'state' | 'pause' | 'resume'

/** Every verb. */
export const VERBS: readonly Verb[] = ['start', 'kill', 'delete', 'forceDelete', 'state', 'pause', 'resume']

/** What a verb leads to: a status, or `deleted` when the container is gone. */
export type Outcome = ContainerStatus | 'deleted'

/**
 * The transition table. A verb missing from a status's row is refused with
 * ERR_LXTS_INVALID_STATE. Plain `delete` works only on a stopped container: the OCI
 * runtime spec says deleting a container that is not stopped MUST fail (runc instead kills
 * a created one); created, running and paused ones need `forceDelete`.
 */
export const TRANSITIONS: Readonly<Record<ContainerStatus, Readonly<Partial<Record<Verb, Outcome>>>>> = {
  creating: { state: 'creating', forceDelete: 'deleted' },
  created: { state: 'created', start: 'running', kill: 'created', forceDelete: 'deleted' },
  running: { state: 'running', kill: 'running', pause: 'paused', forceDelete: 'deleted' },
  // Frozen by the cgroup freezer; force delete kills every process and thaws them so they die.
  paused: { state: 'paused', resume: 'running', kill: 'paused', forceDelete: 'deleted' },
  stopped: { state: 'stopped', delete: 'deleted', forceDelete: 'deleted' },
}

/** Whether `verb` is allowed in `status`. */
export function can(verb: Verb, status: ContainerStatus): boolean {
  return TRANSITIONS[status][verb] !== undefined
}

/** Where `verb` leads from `status`, or undefined when it is not allowed. */
export function next(verb: Verb, status: ContainerStatus): Outcome | undefined {
  return TRANSITIONS[status][verb]
}

const VERB_TEXT: Record<Verb, string> = {
  start: 'start',
  kill: 'kill',
  delete: 'delete',
  forceDelete: 'force-delete',
  state: 'query',
  pause: 'pause',
  resume: 'resume',
}

/** Throw ERR_LXTS_INVALID_STATE (`cannot start container "c1": it is running`) unless allowed. */
export function assertCan(verb: Verb, status: ContainerStatus, id = '?'): void {
  if (can(verb, status)) return
  const hint = verb === 'delete' && (status === 'running' || status === 'paused') ? ' (stop it first or use force)' : ''
  throw new LxtsError('ERR_LXTS_INVALID_STATE', `cannot ${VERB_TEXT[verb]} container "${id}": it is ${status}${hint}`)
}
