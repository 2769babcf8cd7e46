/**
 * What `lxts features` reports (runtime-spec `features.md`). Engines act on it: containerd
 * enables user namespaces only when `linux.mountExtensions.idmap.enabled` is true and
 * recursive read-only mounts only when `rro` is listed. So it lists only what is
 * implemented; widen an entry in the same change that implements it.
 */
import { MPOL_FLAGS, MPOL_MODES } from '../config/scheduling.js'
import { CAPABILITIES } from '../config/validate.js'
import { isRootless } from '../lifecycle/state-store.js'

/** The runtime-spec `features` document (the parts lxts fills). */
export interface Features {
  ociVersionMin: string
  ociVersionMax: string
  hooks: string[]
  mountOptions: string[]
  linux: {
    namespaces: string[]
    capabilities: string[]
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean; rdma: boolean }
    seccomp: { enabled: boolean; actions?: string[]; operators?: string[]; archs?: string[]; knownFlags?: string[]; supportedFlags?: string[] }
    apparmor: { enabled: boolean }
    selinux: { enabled: boolean }
    intelRdt: { enabled: boolean }
    mountExtensions: { idmap: { enabled: boolean } }
    memoryPolicy: { modes: string[]; flags: string[] }
    netDevices: { enabled: boolean }
  }
  annotations: Record<string, string>
}

/** The lxts version the CLI reports. */
export const LXTS_VERSION = '0.1.0'

/** The runtime-spec version lxts implements (the `spec:` line of `--version`). */
export const SPEC_VERSION = '1.2.0'

/**
 * Mount options lxts applies: those that map onto mount(2) flags and propagation types, the
 * recursive forms (`rro`, `rnosuid`, `rnoatime`…: `mount_setattr` with `AT_RECURSIVE` over the
 * whole mounted tree), `idmap`/`ridmap` (idmapped binds: crates/lxts-core/src/container/rootfs/idmap.rs)
 * and `tmpcopyup`: every option of runtime-spec's table (config.md, Linux mount options).
 */
const MOUNT_OPTIONS = [
  'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'idmap', 'iversion',
  'lazytime', 'loud', 'mand', 'noatime', 'nodev', 'nodiratime', 'noexec', 'noiversion', 'nolazytime',
  'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow', 'private', 'ratime', 'rbind',
  'rdev', 'rdiratime', 'relatime', 'remount', 'rexec', 'ridmap', 'rnoatime', 'rnodev', 'rnodiratime',
  'rnoexec', 'rnorelatime', 'rnostrictatime', 'rnosuid', 'rnosymfollow', 'ro', 'rprivate', 'rrelatime',
  'rro', 'rrw', 'rshared', 'rslave', 'rstrictatime', 'rsuid', 'rsymfollow', 'runbindable', 'rw',
  'shared', 'silent', 'slave', 'strictatime', 'suid', 'symfollow', 'sync', 'tmpcopyup', 'unbindable',
]


/** The features document `lxts features` prints. */
export const FEATURES: Features = {
  ociVersionMin: '1.0.0',
  ociVersionMax: '1.3.0',
  // createContainer and startContainer are run by the container init (crates/lxts-core/src/container/hooks.rs).
  hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
  mountOptions: MOUNT_OPTIONS,
  linux: {
    namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'user', 'cgroup', 'time'],
    capabilities: [...CAPABILITIES],
    cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
    // Compiled to BPF by lxts itself (crates/lxts-core/src/container/seccomp); SCMP_ACT_NOTIFY sends
    // the listener fd to linux.seccomp.listenerPath. WAIT_KILLABLE_RECV needs Linux 5.19, the
    // listener 5.0 (the kernel refuses the load on older ones: create fails naming linux.seccomp).
    seccomp: {
      enabled: true,
      actions: ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP'],
      operators: ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE'],
      archs: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_X32', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64'],
      knownFlags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
      supportedFlags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
    },
    apparmor: { enabled: false },
    selinux: { enabled: false },
    intelRdt: { enabled: false },
    // Idmapped binds (mount_setattr MOUNT_ATTR_IDMAP, Linux 5.12; the source's filesystem must allow it).
    // Rootless, idmapping needs the host's CAP_SYS_ADMIN it lacks: reported as disabled then.
    mountExtensions: { idmap: { enabled: !isRootless() } },
    // set_mempolicy(2) in every process of the container (crates/lxts-core/src/container/mempolicy.rs).
    memoryPolicy: { modes: [...MPOL_MODES], flags: [...MPOL_FLAGS] },
    // Moved over rtnetlink by the helper (crates/lxts-core/src/container/netdev.rs); root only.
    netDevices: { enabled: !isRootless() },
  },
  annotations: { 'org.lxts.version': LXTS_VERSION },
}
