/**
 * OCI runtime-spec `config.json` types (Linux subset lxts understands). Fields lxts
 * does not know are kept when parsing but ignored; see `validate.ts` for what is refused.
 */

/** `process.user`. */
export interface OciUser {
  uid: number
  gid: number
  umask?: number
  additionalGids?: number[]
  username?: string
}

/** `process.capabilities`: sets of `CAP_*` names. */
export interface OciCapabilities {
  bounding?: string[]
  effective?: string[]
  inheritable?: string[]
  permitted?: string[]
  ambient?: string[]
}

/** `process.rlimits[]`. */
export interface OciRlimit {
  type: string
  soft: number
  hard: number
}

/** `process.consoleSize`. */
export interface OciConsoleSize {
  height: number
  width: number
}

/** `process`. */
export interface OciProcess {
  terminal?: boolean
  consoleSize?: OciConsoleSize
  user: OciUser
  args: string[]
  commandLine?: string
  env?: string[]
  cwd: string
  capabilities?: OciCapabilities
  rlimits?: OciRlimit[]
  noNewPrivileges?: boolean
  apparmorProfile?: string
  oomScoreAdj?: number
  selinuxLabel?: string
  ioPriority?: unknown
  scheduler?: unknown
  execCPUAffinity?: unknown
}

/** `root`. */
export interface OciRoot {
  path: string
  readonly?: boolean
}

/** `mounts[]`. */
export interface OciMount {
  destination: string
  type?: string
  source?: string
  options?: string[]
  uidMappings?: OciIdMapping[]
  gidMappings?: OciIdMapping[]
}

/** Namespace types of `linux.namespaces[].type`. */
export type OciNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time'

/** `linux.namespaces[]`. */
export interface OciNamespace {
  type: OciNamespaceType
  path?: string
}

/** `linux.uidMappings[]` / `linux.gidMappings[]`. */
export interface OciIdMapping {
  containerID: number
  hostID: number
  size: number
}

/** `linux.devices[]`. */
export interface OciDevice {
  path: string
  type: 'c' | 'b' | 'u' | 'p'
  major?: number
  minor?: number
  fileMode?: number
  uid?: number
  gid?: number
}

/** `linux.resources.devices[]`. */
export interface OciDeviceCgroup {
  allow: boolean
  type?: string
  major?: number
  minor?: number
  access?: string
}

/** `linux.resources` (kept opaque beyond the device list; lxts does not apply limits yet). */
export interface OciResources {
  devices?: OciDeviceCgroup[]
  memory?: Record<string, unknown>
  cpu?: Record<string, unknown>
  pids?: Record<string, unknown>
  blockIO?: Record<string, unknown>
  hugepageLimits?: unknown[]
  network?: Record<string, unknown>
  rdma?: Record<string, unknown>
  unified?: Record<string, string>
}

/** `linux.seccomp` (compiled and loaded by the helper; `listenerPath` gets the SCMP_ACT_NOTIFY fd). */
export interface OciSeccomp {
  defaultAction: string
  architectures?: string[]
  flags?: string[]
  listenerPath?: string
  listenerMetadata?: string
  syscalls?: unknown[]
  [key: string]: unknown
}

/** `linux`. */
export interface OciLinux {
  namespaces?: OciNamespace[]
  uidMappings?: OciIdMapping[]
  gidMappings?: OciIdMapping[]
  timeOffsets?: Partial<Record<'monotonic' | 'boottime', { secs?: number; nanosecs?: number }>>
  devices?: OciDevice[]
  cgroupsPath?: string
  resources?: OciResources
  rootfsPropagation?: string
  seccomp?: OciSeccomp
  sysctl?: Record<string, string>
  maskedPaths?: string[]
  readonlyPaths?: string[]
  mountLabel?: string
  intelRdt?: unknown
  personality?: OciPersonality
}

/** `linux.personality` (runtime-spec defines the domains LINUX and LINUX32, no flags yet). */
export interface OciPersonality {
  domain: 'LINUX' | 'LINUX32'
  flags?: string[]
}

/** One hook. */
export interface OciHook {
  path: string
  args?: string[]
  env?: string[]
  timeout?: number
}

/** `hooks`. */
export interface OciHooks {
  prestart?: OciHook[]
  createRuntime?: OciHook[]
  createContainer?: OciHook[]
  startContainer?: OciHook[]
  poststart?: OciHook[]
  poststop?: OciHook[]
}

/** The whole `config.json`. */
export interface OciConfig {
  ociVersion: string
  process?: OciProcess
  root?: OciRoot
  hostname?: string
  domainname?: string
  mounts?: OciMount[]
  hooks?: OciHooks
  annotations?: Record<string, string>
  linux?: OciLinux
}
