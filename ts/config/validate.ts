/**
 * Validate an OCI config. Every problem is collected (never just the first), each naming
 * its field path. Unknown fields and annotations are ignored; features a runtime user
 * relies on but lxts does not implement yet are reported as ERR_LXTS_UNSUPPORTED, never
 * silently dropped.
 */
import { LxtsError, type ConfigIssue, type ErrorCode } from '../errors.js'
import { IOPRIO_CLASSES, MPOL_FLAGS, MPOL_MODES, SCHED_FLAGS, SCHED_POLICIES } from './scheduling.js'
import type { OciConfig } from './types.js'

/** The 41 Linux capabilities, in kernel order (CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40). */
export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
]

/** The rlimit types of `process.rlimits[].type`. */
export const RLIMITS: readonly string[] = [
  'RLIMIT_AS', 'RLIMIT_CORE', 'RLIMIT_CPU', 'RLIMIT_DATA', 'RLIMIT_FSIZE', 'RLIMIT_LOCKS', 'RLIMIT_MEMLOCK',
  'RLIMIT_MSGQUEUE', 'RLIMIT_NICE', 'RLIMIT_NOFILE', 'RLIMIT_NPROC', 'RLIMIT_RSS', 'RLIMIT_RTPRIO',
  'RLIMIT_RTTIME', 'RLIMIT_SIGPENDING', 'RLIMIT_STACK',
]

/** The namespace types of `linux.namespaces[].type`. */
export const NAMESPACE_TYPES: readonly string[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time']

const PROPAGATIONS = ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable']
const HOOK_KINDS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']
const MAX_ID = 0xffffffff

/** Options that change what a config may ask for. */
export interface ValidateOptions {
  /** `--console-socket`: required when `process.terminal` is true. */
  consoleSocket?: string | undefined
}

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const isUint32 = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_ID
const isAbs = (v: unknown): v is string => typeof v === 'string' && v.startsWith('/')
const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0)

/** Collects issues while walking the config. */
class Issues {
  readonly list: ConfigIssue[] = []
  add(code: ErrorCode, field: string, message: string): void {
    this.list.push({ code, field, message })
  }
  invalid(field: string, message: string): void {
    this.add('ERR_LXTS_INVALID_CONFIG', field, message)
  }
  unsupported(field: string, message = 'is not supported by lxts yet'): void {
    this.add('ERR_LXTS_UNSUPPORTED', field, message)
  }
  /** Check that `v` (if present) is an array of strings; returns it when it is. */
  strings(field: string, v: unknown): string[] | undefined {
    if (v === undefined) return undefined
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
      this.invalid(field, 'must be an array of strings')
      return undefined
    }
    return v as string[]
  }
  /** Check that `v` (if present) is an array; returns it when it is. */
  array(field: string, v: unknown): unknown[] | undefined {
    if (v === undefined) return undefined
    if (!Array.isArray(v)) {
      this.invalid(field, 'must be an array')
      return undefined
    }
    return v
  }
  /** Check that `v` (if present) is an object; returns it when it is. */
  object(field: string, v: unknown): Obj | undefined {
    if (v === undefined) return undefined
    if (!isObj(v)) {
      this.invalid(field, 'must be an object')
      return undefined
    }
    return v
  }
  bool(field: string, v: unknown): void {
    if (v !== undefined && typeof v !== 'boolean') this.invalid(field, 'must be a boolean')
  }
  string(field: string, v: unknown): void {
    if (v !== undefined && typeof v !== 'string') this.invalid(field, 'must be a string')
  }
}

function checkVersion(is: Issues, v: unknown): void {
  if (typeof v !== 'string') return is.invalid('ociVersion', 'is required (a string such as "1.2.0")')
  if (!/^1\.[0-3]\.[0-9]+(?:[-+][0-9A-Za-z.+-]*)?$/.test(v)) {
    is.invalid('ociVersion', `"${v}" is not supported (lxts accepts 1.0.x to 1.3.x)`)
  }
}

function checkRoot(is: Issues, v: unknown): void {
  if (v === undefined) return is.invalid('root', 'is required')
  const root = is.object('root', v)
  if (root === undefined) return
  if (typeof root['path'] !== 'string' || root['path'] === '') is.invalid('root.path', 'is required (a non-empty string)')
  is.bool('root.readonly', root['readonly'])
}

function checkUser(is: Issues, v: unknown): void {
  const user = is.object('process.user', v)
  if (user === undefined) return
  for (const k of ['uid', 'gid'] as const) {
    if (user[k] !== undefined && !isUint32(user[k])) is.invalid(`process.user.${k}`, 'must be an integer from 0 to 4294967295')
  }
  if (user['umask'] !== undefined && !(Number.isInteger(user['umask']) && (user['umask'] as number) >= 0 && (user['umask'] as number) <= 0o777)) {
    is.invalid('process.user.umask', 'must be an integer from 0 to 0o777')
  }
  is.array('process.user.additionalGids', user['additionalGids'])?.forEach((g, i) => {
    if (!isUint32(g)) is.invalid(`process.user.additionalGids[${i}]`, 'must be an integer from 0 to 4294967295')
  })
}

function checkCapabilities(is: Issues, v: unknown): void {
  const caps = is.object('process.capabilities', v)
  if (caps === undefined) return
  for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient']) {
    is.strings(`process.capabilities.${set}`, caps[set])?.forEach((c, i) => {
      if (!CAPABILITIES.includes(c)) is.invalid(`process.capabilities.${set}[${i}]`, `unknown capability "${c}"`)
    })
  }
}

function checkRlimits(is: Issues, v: unknown): void {
  const seen = new Set<string>()
  is.array('process.rlimits', v)?.forEach((r, i) => {
    const f = `process.rlimits[${i}]`
    if (!isObj(r)) return is.invalid(f, 'must be an object')
    const type = r['type']
    if (typeof type !== 'string' || !RLIMITS.includes(type)) is.invalid(`${f}.type`, `unknown rlimit type ${JSON.stringify(type)}`)
    else if (seen.has(type)) is.invalid(`${f}.type`, `duplicate rlimit type "${type}"`)
    else seen.add(type)
    const ok = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0
    if (!ok(r['soft'])) is.invalid(`${f}.soft`, 'must be a non-negative integer')
    if (!ok(r['hard'])) is.invalid(`${f}.hard`, 'must be a non-negative integer')
    if (ok(r['soft']) && ok(r['hard']) && r['soft'] > r['hard']) is.invalid(`${f}.soft`, 'must not exceed hard')
  })
}

function checkProcess(is: Issues, v: unknown, o: ValidateOptions): void {
  // Without `process` a container can be created; `start` fails (runtime.md lifecycle).
  if (v === undefined) return
  const p = is.object('process', v)
  if (p === undefined) return
  const args = is.strings('process.args', p['args'])
  if (p['args'] === undefined || (args !== undefined && args.length === 0)) is.invalid('process.args', 'must be a non-empty array')
  if (typeof p['cwd'] !== 'string') is.invalid('process.cwd', 'is required (an absolute path)')
  else if (!isAbs(p['cwd'])) is.invalid('process.cwd', `"${p['cwd']}" is not an absolute path`)
  is.strings('process.env', p['env'])?.forEach((e, i) => {
    if (!/^[^=]+=/.test(e)) is.invalid(`process.env[${i}]`, `"${e}" is not KEY=value`)
  })
  if (p['user'] === undefined) is.invalid('process.user', 'is required')
  else checkUser(is, p['user'])
  checkCapabilities(is, p['capabilities'])
  checkRlimits(is, p['rlimits'])
  is.bool('process.terminal', p['terminal'])
  is.bool('process.noNewPrivileges', p['noNewPrivileges'])
  if (p['oomScoreAdj'] !== undefined && !(Number.isInteger(p['oomScoreAdj']) && Math.abs(p['oomScoreAdj'] as number) <= 1000)) {
    is.invalid('process.oomScoreAdj', 'must be an integer from -1000 to 1000')
  }
  if (p['terminal'] === true && o.consoleSocket === undefined) {
    // runc: "cannot allocate tty if runc will detach without setting console socket"
    is.add('ERR_LXTS_USAGE', 'process.terminal', 'is true: cannot allocate a tty when lxts detaches without a console socket (--console-socket), as runc')
  }
  if (p['terminal'] !== true && o.consoleSocket !== undefined) {
    is.add('ERR_LXTS_USAGE', 'process.terminal', 'is false: a console socket cannot be used without a terminal')
  }
  checkScheduler(is, p['scheduler'])
  checkIoPriority(is, p['ioPriority'])
  checkExecCpuAffinity(is, p['execCPUAffinity'])
  for (const k of ['apparmorProfile', 'selinuxLabel']) {
    if (!isEmpty(p[k])) is.unsupported(`process.${k}`)
  }
}

/** A list of ids such as `0-3,7` (CPUs, NUMA nodes); empty allowed. */
const ID_LIST = /^\s*(\d+(-\d+)?(\s*,\s*\d+(-\d+)?)*)?\s*$/

/** `process.execCPUAffinity`: the CPUs of an exec'd process before and after it joins the container's cgroups (not the init's). */
function checkExecCpuAffinity(is: Issues, v: unknown): void {
  if (v === undefined) return
  const a = is.object('process.execCPUAffinity', v)
  if (a === undefined) return
  for (const k of ['initial', 'final']) {
    const list = a[k]
    if (list !== undefined && (typeof list !== 'string' || !ID_LIST.test(list))) {
      is.invalid(`process.execCPUAffinity.${k}`, `must be a list of CPUs such as "0-3,7", not ${JSON.stringify(list)}`)
    }
  }
}

const isInt32 = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= -0x80000000 && (v as number) <= 0x7fffffff
const oneOf = (is: Issues, field: string, v: unknown, names: readonly string[]): void => {
  if (typeof v !== 'string' || !names.includes(v)) is.invalid(field, `must be one of ${names.join(', ')}, not ${JSON.stringify(v)}`)
}

/** `process.scheduler`: set with sched_setattr(2) by the process itself (crates/lxts-core/src/container/sched.rs). */
function checkScheduler(is: Issues, v: unknown): void {
  if (v === undefined) return
  const s = is.object('process.scheduler', v)
  if (s === undefined) return
  oneOf(is, 'process.scheduler.policy', s['policy'], SCHED_POLICIES)
  if (s['nice'] !== undefined && !(Number.isInteger(s['nice']) && (s['nice'] as number) >= -20 && (s['nice'] as number) <= 19)) {
    is.invalid('process.scheduler.nice', 'must be an integer from -20 to 19')
  }
  if (s['priority'] !== undefined && !isInt32(s['priority'])) is.invalid('process.scheduler.priority', 'must be an integer (int32)')
  if (isInt32(s['priority']) && s['priority'] < 0) is.invalid('process.scheduler.priority', 'must not be negative')
  for (const k of ['runtime', 'deadline', 'period']) {
    if (s[k] !== undefined && !(Number.isSafeInteger(s[k]) && (s[k] as number) >= 0)) is.invalid(`process.scheduler.${k}`, 'must be a non-negative integer (nanoseconds)')
  }
  is.strings('process.scheduler.flags', s['flags'])?.forEach((f, i) => oneOf(is, `process.scheduler.flags[${i}]`, f, SCHED_FLAGS))
}

/** `process.ioPriority`: set with ioprio_set(2) by the process itself. */
function checkIoPriority(is: Issues, v: unknown): void {
  if (v === undefined) return
  const p = is.object('process.ioPriority', v)
  if (p === undefined) return
  oneOf(is, 'process.ioPriority.class', p['class'], IOPRIO_CLASSES)
  const n = p['priority']
  if (!Number.isInteger(n) || (n as number) < 0 || (n as number) > 7) is.invalid('process.ioPriority.priority', 'is required: an integer from 0 (highest) to 7 (lowest)')
}

/** A network interface name the kernel takes (no `/`, `:` or space, not `.`/`..`), with at most one `%d` template. */
const IFNAME = /^(?!\.{1,2}$)[^/:\s%]*(%d)?[^/:\s%]*$/
const ifname = (v: unknown, template: boolean): boolean =>
  typeof v === 'string' &&
  v !== '' &&
  Buffer.byteLength(v) <= 15 &&
  IFNAME.test(v) &&
  (template || !v.includes('%')) &&
  // the kernel's isspace counts the byte 0xa0 (in UTF-8 "à", "ð"…) and \v; NUL ends the name
  !Buffer.from(v).some((b) => b === 0 || b === 0x0b || b === 0xa0)

/** `linux.netDevices`: host devices moved into a new network namespace (crates/lxts-core/src/container/netdev.rs). */
function checkNetDevices(is: Issues, v: unknown, namespaces: unknown[]): void {
  if (v === undefined) return
  const d = is.object('linux.netDevices', v)
  if (d === undefined) return
  const targets = new Set<string>()
  for (const [from, spec] of Object.entries(d)) {
    const f = `linux.netDevices.${from}`
    if (!ifname(from, false)) is.invalid(f, 'is not a network interface name (1 to 15 bytes, no "/", ":", "%" or space)')
    if (!isObj(spec)) {
      is.invalid(f, 'must be an object')
      continue
    }
    const name = spec['name']
    if (name !== undefined && !ifname(name, true)) {
      is.invalid(`${f}.name`, 'is not a network interface name (1 to 15 bytes, no "/", ":" or space; at most one %d template)')
      continue
    }
    const target = typeof name === 'string' ? name : from
    if (!target.includes('%d') && targets.has(target)) is.invalid(`${f}.name`, `"${target}" is the name of another device too`)
    targets.add(target)
  }
  if (Object.keys(d).length === 0) return
  if (!namespaces.some((n) => isObj(n) && n['type'] === 'network' && !n['path'])) {
    is.invalid('linux.netDevices', 'needs a new network namespace (linux.namespaces type "network")')
  }
  if (namespaces.some((n) => isObj(n) && n['type'] === 'user' && !!n['path'])) {
    is.unsupported('linux.netDevices', 'with a joined user namespace is not supported (moving devices needs the host\'s privilege, which joining it gives up)')
  }
}

/** `linux.memoryPolicy`: set with set_mempolicy(2) by every process of the container (crates/lxts-core/src/container/mempolicy.rs). */
function checkMemoryPolicy(is: Issues, v: unknown): void {
  if (v === undefined) return
  const p = is.object('linux.memoryPolicy', v)
  if (p === undefined) return
  oneOf(is, 'linux.memoryPolicy.mode', p['mode'], MPOL_MODES)
  const nodes = p['nodes']
  if (nodes !== undefined && (typeof nodes !== 'string' || !ID_LIST.test(nodes))) {
    is.invalid('linux.memoryPolicy.nodes', `must be a list of nodes such as "0-3,7", not ${JSON.stringify(nodes)}`)
  }
  is.strings('linux.memoryPolicy.flags', p['flags'])?.forEach((f, i) => oneOf(is, `linux.memoryPolicy.flags[${i}]`, f, MPOL_FLAGS))
}

/**
 * Idmapped binds (`uidMappings`/`gidMappings`, options `idmap`/`ridmap`): mappings as
 * linux.uidMappings' (both or neither), bind mounts only, and `idmap` alone only with a new user
 * namespace whose mappings it then uses (runtime-spec config.md: otherwise an error).
 */
function checkIdmap(is: Issues, f: string, m: Obj, c: Obj): void {
  const options = Array.isArray(m['options']) ? m['options'] : []
  const asked = options.includes('idmap') || options.includes('ridmap')
  const [uids, gids] = [!isEmpty(m['uidMappings']), !isEmpty(m['gidMappings'])]
  if (uids) checkMappings(is, `${f}.uidMappings`, m['uidMappings'])
  if (gids) checkMappings(is, `${f}.gidMappings`, m['gidMappings'])
  if (!asked && !uids && !gids) return
  if ((m['type'] !== 'bind' && !options.includes('bind') && !options.includes('rbind')) || m['type'] === 'cgroup') {
    return is.invalid(f, 'an idmapped mount (uidMappings, gidMappings, idmap or ridmap) must be a bind mount (options bind or rbind)')
  }
  if (uids !== gids) return is.invalid(uids ? `${f}.gidMappings` : `${f}.uidMappings`, 'uidMappings and gidMappings go together')
  const l = isObj(c['linux']) ? c['linux'] : {}
  const ns = Array.isArray(l['namespaces']) ? l['namespaces'] : []
  if (ns.some((n) => isObj(n) && n['type'] === 'user' && n['path'] != null)) {
    // the helper joins it before making the init, and then lacks the host's CAP_SYS_ADMIN that idmapping needs
    return is.unsupported(f, 'idmapped mounts with a joined user namespace (linux.namespaces user path) are not supported')
  }
  if (uids) return
  const newUserNs = ns.some((n) => isObj(n) && n['type'] === 'user' && n['path'] == null)
  if (!newUserNs || isEmpty(l['uidMappings'])) {
    is.invalid(`${f}.options`, 'idmap or ridmap without uidMappings/gidMappings needs a new user namespace, whose mappings it uses')
  }
}

function checkMounts(is: Issues, v: unknown, c: Obj): void {
  is.array('mounts', v)?.forEach((m, i) => {
    const f = `mounts[${i}]`
    if (!isObj(m)) return is.invalid(f, 'must be an object')
    if (typeof m['destination'] !== 'string') is.invalid(`${f}.destination`, 'is required (an absolute path)')
    else if (!isAbs(m['destination'])) is.invalid(`${f}.destination`, `"${m['destination']}" is not an absolute path`)
    is.string(`${f}.type`, m['type'])
    is.string(`${f}.source`, m['source'])
    is.strings(`${f}.options`, m['options'])
    checkIdmap(is, f, m, c)
  })
}

function checkMappings(is: Issues, field: string, v: unknown): number {
  const ranges: [number, number][] = []
  is.array(field, v)?.forEach((m, i) => {
    const f = `${field}[${i}]`
    if (!isObj(m)) return is.invalid(f, 'must be an object')
    let ok = true
    for (const k of ['containerID', 'hostID', 'size']) {
      if (!isUint32(m[k])) {
        is.invalid(`${f}.${k}`, 'must be an integer from 0 to 4294967295')
        ok = false
      }
    }
    if (!ok) return
    const [c, h, s] = [m['containerID'] as number, m['hostID'] as number, m['size'] as number]
    if (s === 0) return is.invalid(`${f}.size`, 'must be at least 1')
    if (c + s - 1 > MAX_ID || h + s - 1 > MAX_ID) return is.invalid(`${f}.size`, 'makes the range exceed 4294967295')
    if (ranges.some(([a, b]) => c < b && a < c + s)) return is.invalid(`${f}.containerID`, 'overlaps another mapping')
    ranges.push([c, c + s])
  })
  return ranges.length
}

function checkNamespaces(is: Issues, v: unknown): Set<string> {
  const types = new Set<string>()
  is.array('linux.namespaces', v)?.forEach((n, i) => {
    const f = `linux.namespaces[${i}]`
    if (!isObj(n)) return is.invalid(f, 'must be an object')
    const t = n['type']
    if (typeof t !== 'string' || !NAMESPACE_TYPES.includes(t)) is.invalid(`${f}.type`, `unknown namespace type ${JSON.stringify(t)}`)
    else if (types.has(t)) is.invalid(`${f}.type`, `duplicate namespace type "${t}"`)
    else types.add(t)
    if (n['path'] !== undefined && !isAbs(n['path'])) is.invalid(`${f}.path`, 'must be an absolute path')
  })
  return types
}

function checkDevices(is: Issues, v: unknown): void {
  is.array('linux.devices', v)?.forEach((d, i) => {
    const f = `linux.devices[${i}]`
    if (!isObj(d)) return is.invalid(f, 'must be an object')
    if (!isAbs(d['path'])) is.invalid(`${f}.path`, 'is required (an absolute path)')
    const t = d['type']
    if (t !== 'c' && t !== 'b' && t !== 'u' && t !== 'p') is.invalid(`${f}.type`, `must be "c", "b", "u" or "p", not ${JSON.stringify(t)}`)
    else if (t !== 'p') {
      for (const k of ['major', 'minor']) if (!Number.isInteger(d[k]) || (d[k] as number) < 0) is.invalid(`${f}.${k}`, 'is required for this device type')
    }
    for (const k of ['fileMode', 'uid', 'gid']) if (d[k] !== undefined && !isUint32(d[k])) is.invalid(`${f}.${k}`, 'must be a non-negative integer')
  })
}

function checkResources(is: Issues, v: unknown): void {
  const r = is.object('linux.resources', v)
  if (r !== undefined) checkResourcesShape(is, r)
}

const isInt = (v: unknown): v is number => Number.isInteger(v)
const RESOURCE_INTS: Record<string, readonly string[]> = {
  memory: ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP', 'swappiness'],
  cpu: ['shares', 'quota', 'period', 'realtimeRuntime', 'realtimePeriod', 'idle', 'burst'],
  blockIO: ['weight', 'leafWeight'],
}

/** The shape of `linux.resources` (also what `lxts update` accepts); values are checked by the kernel. */
function checkResourcesShape(is: Issues, r: Record<string, unknown>, base = 'linux.resources'): void {
  for (const [sect, keys] of Object.entries(RESOURCE_INTS)) {
    const o = is.object(`${base}.${sect}`, r[sect])
    if (o === undefined) continue
    for (const k of keys) if (o[k] !== undefined && o[k] !== null && !isInt(o[k])) is.invalid(`${base}.${sect}.${k}`, 'must be an integer')
  }
  const mem = isObj(r['memory']) ? r['memory'] : {}
  if (isInt(mem['swappiness']) && (mem['swappiness'] < 0 || mem['swappiness'] > 100)) is.invalid(`${base}.memory.swappiness`, 'must be from 0 to 100')
  for (const k of ['disableOOMKiller', 'useHierarchy']) is.bool(`${base}.memory.${k}`, mem[k])
  const cpu = isObj(r['cpu']) ? r['cpu'] : {}
  for (const k of ['cpus', 'mems']) is.string(`${base}.cpu.${k}`, cpu[k])
  const pids = is.object(`${base}.pids`, r['pids'])
  if (pids !== undefined && !isInt(pids['limit'])) is.invalid(`${base}.pids.limit`, 'is required (an integer; 0 or -1 is unlimited)')
  const bio = isObj(r['blockIO']) ? r['blockIO'] : {}
  for (const k of ['weightDevice', 'throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice']) {
    is.array(`${base}.blockIO.${k}`, bio[k])?.forEach((d, i) => {
      if (!isObj(d) || !isInt(d['major']) || !isInt(d['minor'])) is.invalid(`${base}.blockIO.${k}[${i}]`, 'needs integer major and minor')
      else if (k !== 'weightDevice' && !(isInt(d['rate']) && d['rate'] >= 0)) is.invalid(`${base}.blockIO.${k}[${i}].rate`, 'is required (a non-negative integer)')
    })
  }
  is.array(`${base}.hugepageLimits`, r['hugepageLimits'])?.forEach((h, i) => {
    if (!isObj(h) || typeof h['pageSize'] !== 'string' || !/^[1-9][0-9]*[KMG]B$/.test(h['pageSize'])) is.invalid(`${base}.hugepageLimits[${i}].pageSize`, 'is required (like "2MB" or "1GB")')
    else if (!(isInt(h['limit']) && h['limit'] >= 0)) is.invalid(`${base}.hugepageLimits[${i}].limit`, 'is required (a non-negative integer)')
  })
  const net = is.object(`${base}.network`, r['network'])
  if (net !== undefined) {
    if (net['classID'] !== undefined && !isUint32(net['classID'])) is.invalid(`${base}.network.classID`, 'must be a 32-bit unsigned integer')
    is.array(`${base}.network.priorities`, net['priorities'])?.forEach((p, i) => {
      if (!isObj(p) || typeof p['name'] !== 'string' || p['name'] === '' || !isUint32(p['priority'])) is.invalid(`${base}.network.priorities[${i}]`, 'needs a name and a priority')
    })
  }
  is.array(`${base}.devices`, r['devices'])?.forEach((d, i) => {
    const f = `${base}.devices[${i}]`
    if (!isObj(d) || typeof d['allow'] !== 'boolean') return is.invalid(`${f}.allow`, 'is required (a boolean)')
    if (d['type'] !== undefined && !['a', 'b', 'c'].includes(d['type'] as string)) is.invalid(`${f}.type`, 'must be "a", "b" or "c"')
    for (const k of ['major', 'minor']) if (d[k] !== undefined && d[k] !== null && !(isInt(d[k]) && (d[k] as number) >= -1)) is.invalid(`${f}.${k}`, 'must be an integer (-1: any)')
    if (d['access'] !== undefined && !(typeof d['access'] === 'string' && /^[rwm]+$/.test(d['access']))) is.invalid(`${f}.access`, 'must be made of r, w and m')
  })
  const uni = is.object(`${base}.unified`, r['unified'])
  for (const [k, val] of Object.entries(uni ?? {})) {
    if (k.includes('/') || k.includes('..') || !k.includes('.')) is.invalid(`${base}.unified["${k}"]`, 'must be an interface file name like "memory.high"')
    else if (typeof val !== 'string') is.invalid(`${base}.unified["${k}"]`, 'must be a string')
  }
  if (!isEmpty(r['rdma'])) is.unsupported(`${base}.rdma`, 'rdma limits are not supported by lxts')
}

function checkLinux(is: Issues, v: unknown, c: Obj): void {
  const l = is.object('linux', v) ?? {}
  const ns = checkNamespaces(is, l['namespaces'])
  // a retyped `namespaces` (a string, an object) is reported by checkNamespaces: never call .find on it
  const nsList: unknown[] = Array.isArray(l['namespaces']) ? l['namespaces'] : []
  // No mount namespace: the host's is inherited (OCI), the rootfs is entered with chroot and
  // `/` is never touched, so a propagation for it cannot be honoured.
  const mountNs = nsList.find((n) => isObj(n) && n['type'] === 'mount') as Obj | undefined
  if (mountNs === undefined && !isEmpty(l['rootfsPropagation'])) {
    is.invalid('linux.rootfsPropagation', 'needs a mount namespace (type "mount" in linux.namespaces): without one the root is a chroot in the host\'s mount namespace')
  }
  const uids = checkMappings(is, 'linux.uidMappings', l['uidMappings'])
  const gids = checkMappings(is, 'linux.gidMappings', l['gidMappings'])
  const userNs = nsList.find((n): n is Obj => isObj(n) && n['type'] === 'user')
  if (mountNs === undefined && userNs !== undefined) {
    is.invalid('linux.namespaces', 'a user namespace needs a mount namespace (type "mount"): its root cannot mount in the host\'s mount namespace')
  }
  if ((uids > 0 || gids > 0) && userNs === undefined) is.invalid('linux.uidMappings', 'id mappings need a user namespace')
  if (userNs !== undefined && userNs['path'] === undefined && (uids === 0 || gids === 0)) {
    is.invalid(uids === 0 ? 'linux.uidMappings' : 'linux.gidMappings', 'a new user namespace needs uid and gid mappings')
  }
  checkDevices(is, l['devices'])
  checkResources(is, l['resources'])
  const cg = l['cgroupsPath']
  is.string('linux.cgroupsPath', cg)
  if (typeof cg === 'string' && cg.includes(':')) is.unsupported('linux.cgroupsPath', `"${cg}" is a systemd cgroup path; lxts manages cgroupfs paths only`)
  const prop = l['rootfsPropagation']
  if (prop !== undefined && (typeof prop !== 'string' || !PROPAGATIONS.includes(prop))) {
    is.invalid('linux.rootfsPropagation', `must be one of ${PROPAGATIONS.join(', ')}`)
  }
  const sysctl = is.object('linux.sysctl', l['sysctl'])
  for (const [k, val] of Object.entries(sysctl ?? {})) if (typeof val !== 'string') is.invalid(`linux.sysctl.${k}`, 'must be a string')
  for (const k of Object.keys(sysctl ?? {})) {
    const why = sysctlRefusal(k, ns)
    if (why !== undefined) is.invalid(`linux.sysctl.${k}`, why)
  }
  for (const k of ['maskedPaths', 'readonlyPaths']) {
    is.strings(`linux.${k}`, l[k])?.forEach((p, i) => {
      if (!isAbs(p)) is.invalid(`linux.${k}[${i}]`, `"${p}" is not an absolute path`)
    })
  }
  checkSeccomp(is, l['seccomp'])
  checkTimeOffsets(is, l['timeOffsets'], nsList.find((n): n is Obj => isObj(n) && n['type'] === 'time'))
  checkPersonality(is, l['personality'])
  checkMemoryPolicy(is, l['memoryPolicy'])
  checkNetDevices(is, l['netDevices'], nsList)
  for (const k of ['intelRdt', 'mountLabel']) {
    if (!isEmpty(l[k])) is.unsupported(`linux.${k}`)
  }
  for (const k of ['hostname', 'domainname']) {
    if (c[k] !== undefined && typeof c[k] !== 'string') is.invalid(k, 'must be a string')
    else if (!isEmpty(c[k]) && !ns.has('uts')) is.invalid(k, 'cannot be set without a private UTS namespace')
  }
}

/** `linux.timeOffsets`: written into a new time namespace by the helper (crates/lxts-core/src/container/timens.rs). */
function checkTimeOffsets(is: Issues, v: unknown, timeNs: Obj | undefined): void {
  const o = is.object('linux.timeOffsets', v)
  if (o === undefined || isEmpty(o)) return
  if (timeNs === undefined) is.invalid('linux.timeOffsets', 'needs a new time namespace (type "time" in linux.namespaces)')
  else if (timeNs['path'] !== undefined && timeNs['path'] !== '') is.invalid('linux.timeOffsets', 'cannot change a joined time namespace (linux.namespaces[time].path)')
  for (const [clock, off] of Object.entries(o)) {
    const f = `linux.timeOffsets.${clock}`
    if (clock !== 'monotonic' && clock !== 'boottime') {
      is.invalid(f, 'is not a clock of a time namespace (monotonic, boottime)')
      continue
    }
    if (!isObj(off)) {
      is.invalid(f, 'must be an object with secs and nanosecs')
      continue
    }
    const secs = off['secs']
    if (secs !== undefined && !Number.isSafeInteger(secs)) is.invalid(`${f}.secs`, 'must be an integer below 2^53 (JSON numbers lose precision above)')
    const ns = off['nanosecs']
    if (ns !== undefined && !(Number.isInteger(ns) && (ns as number) >= 0 && (ns as number) < 1e9)) is.invalid(`${f}.nanosecs`, 'must be an integer from 0 to 999999999')
  }
}

/** `linux.personality`: set with personality(2) before execve (crates/lxts-core/src/container/personality.rs). */
function checkPersonality(is: Issues, v: unknown): void {
  const p = is.object('linux.personality', v)
  if (p === undefined) return
  const d = p['domain']
  if (d !== 'LINUX' && d !== 'LINUX32') is.invalid('linux.personality.domain', `must be "LINUX" or "LINUX32", not ${JSON.stringify(d)}`)
  // runtime-spec defines no flag yet; refused rather than dropped (runc ignores them with a warning).
  is.strings('linux.personality.flags', p['flags'])?.forEach((fl, i) => is.invalid(`linux.personality.flags[${i}]`, `unknown personality flag "${fl}" (runtime-spec defines none)`))
}

function checkHooks(is: Issues, v: unknown): void {
  const hooks = is.object('hooks', v)
  for (const k of HOOK_KINDS) {
    const list = is.array(`hooks.${k}`, hooks?.[k])
    if (list === undefined) continue
    list.forEach((h, i) => {
      const f = `hooks.${k}[${i}]`
      if (!isObj(h)) return is.invalid(f, 'must be an object')
      if (!isAbs(h['path'])) is.invalid(`${f}.path`, 'is required (an absolute path)')
      is.strings(`${f}.args`, h['args'])
      is.strings(`${f}.env`, h['env'])?.forEach((e, j) => {
        if (!/^[^=]+=/.test(e)) is.invalid(`${f}.env[${j}]`, `"${e}" is not KEY=value`)
      })
      const t = h['timeout']
      if (t !== undefined && !(Number.isInteger(t) && (t as number) > 0)) is.invalid(`${f}.timeout`, 'must be a positive integer (seconds)')
    })
  }
}

const SECCOMP_ACTIONS = ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY']
const SECCOMP_OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']
const SECCOMP_FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']

/** The shape of `linux.seccomp`; syscall names and architectures are checked by the compiler in the helper. */
function checkSeccomp(is: Issues, v: unknown): void {
  const s = is.object('linux.seccomp', v)
  if (s === undefined) return
  const action = (f: string, a: unknown): void => {
    if (typeof a !== 'string' || !SECCOMP_ACTIONS.includes(a)) is.invalid(f, `unknown seccomp action ${JSON.stringify(a)}`)
  }
  action('linux.seccomp.defaultAction', s['defaultAction'])
  // As runc: the init would wait on its own notifications before the listener has the fd.
  if (s['defaultAction'] === 'SCMP_ACT_NOTIFY') is.invalid('linux.seccomp.defaultAction', 'SCMP_ACT_NOTIFY cannot be the default action')
  if (s['defaultErrnoRet'] !== undefined && !isUint32(s['defaultErrnoRet'])) is.invalid('linux.seccomp.defaultErrnoRet', 'must be a non-negative integer')
  is.strings('linux.seccomp.architectures', s['architectures'])
  is.strings('linux.seccomp.flags', s['flags'])?.forEach((fl, i) => {
    if (!SECCOMP_FLAGS.includes(fl)) is.invalid(`linux.seccomp.flags[${i}]`, `unknown seccomp flag "${fl}"`)
  })
  checkListener(is, s)
  is.array('linux.seccomp.syscalls', s['syscalls'])?.forEach((r, i) => {
    const f = `linux.seccomp.syscalls[${i}]`
    if (!isObj(r)) return is.invalid(f, 'must be an object')
    const names = is.strings(`${f}.names`, r['names'])
    if (names === undefined || names.length === 0) is.invalid(`${f}.names`, 'must be a non-empty array of syscall names')
    action(`${f}.action`, r['action'])
    // The init hands the notify fd over with these two right after loading the filter.
    const send = r['action'] === 'SCMP_ACT_NOTIFY' ? (names ?? []).findIndex((n) => n === 'sendmsg' || n === 'shutdown') : -1
    if (send >= 0) {
      is.invalid(`${f}.names[${send}]`, `SCMP_ACT_NOTIFY cannot be used for ${names?.[send] ?? ''}: the init hands the listener its fd with sendmsg and shutdown after loading the filter`)
    }
    if (r['errnoRet'] !== undefined && !isUint32(r['errnoRet'])) is.invalid(`${f}.errnoRet`, 'must be a non-negative integer')
    is.array(`${f}.args`, r['args'])?.forEach((a, j) => {
      const af = `${f}.args[${j}]`
      if (!isObj(a)) return is.invalid(af, 'must be an object')
      if (!(Number.isInteger(a['index']) && (a['index'] as number) >= 0 && (a['index'] as number) <= 5)) is.invalid(`${af}.index`, 'must be an integer from 0 to 5')
      for (const k of ['value', 'valueTwo']) {
        const n = a[k]
        if (n !== undefined && !Number.isSafeInteger(n)) is.invalid(`${af}.${k}`, 'must be an integer below 2^53 (JSON numbers lose precision above)')
        else if (typeof n === 'number' && n < 0) is.invalid(`${af}.${k}`, 'must not be negative')
      }
      if (a['value'] === undefined) is.invalid(`${af}.value`, 'is required')
      if (typeof a['op'] !== 'string' || !SECCOMP_OPS.includes(a['op'])) is.invalid(`${af}.op`, `unknown comparison ${JSON.stringify(a['op'])}`)
    })
  })
}

/**
 * `listenerPath`/`listenerMetadata`: the agent socket the init sends the notify fd to. Needed by
 * any SCMP_ACT_NOTIFY rule (absolute: the helper connects from the rootfs), ignored without one.
 */
function checkListener(is: Issues, s: Record<string, unknown>): void {
  const path = s['listenerPath']
  const meta = s['listenerMetadata']
  if (path !== undefined && typeof path !== 'string') is.invalid('linux.seccomp.listenerPath', 'must be a string')
  if (meta !== undefined && typeof meta !== 'string') is.invalid('linux.seccomp.listenerMetadata', 'must be a string')
  if (!isEmpty(meta) && isEmpty(path)) is.invalid('linux.seccomp.listenerMetadata', 'must not be set without linux.seccomp.listenerPath')
  const rules = Array.isArray(s['syscalls']) ? (s['syscalls'] as unknown[]) : []
  if (!rules.some((r) => isObj(r) && r['action'] === 'SCMP_ACT_NOTIFY')) return
  if (isEmpty(path)) is.invalid('linux.seccomp.listenerPath', 'is required when a rule\'s action is SCMP_ACT_NOTIFY')
  else if (typeof path === 'string' && !path.startsWith('/')) is.invalid('linux.seccomp.listenerPath', `"${path}" must be an absolute path`)
}

/** Deepest nesting a config may have (an OCI config needs about 8); deeper input would overflow the stack later. */
const MAX_DEPTH = 64

/**
 * Checks that hold for every value of a config, walked without recursion: no nesting deeper
 * than {@link MAX_DEPTH} (structuredClone/JSON.stringify of a 5000-deep value throw RangeError),
 * no NUL byte in any string or key (the kernel cuts C strings at the first NUL, so
 * `/bin/true\0x` would run something other than what was validated).
 */
function checkPlainValues(is: Issues, config: Obj): void {
  const stack: [unknown, string, number][] = [[config, '', 0]]
  let nuls = 0
  while (stack.length > 0) {
    const [v, field, depth] = stack.pop() as [unknown, string, number]
    if (typeof v === 'string') {
      if (v.includes('\0') && nuls++ < 8) is.invalid(field, 'must not contain a NUL byte')
      continue
    }
    if (typeof v !== 'object' || v === null) continue
    if (depth >= MAX_DEPTH) {
      is.invalid(field, `nests deeper than ${MAX_DEPTH} levels`)
      continue
    }
    if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, `${field}[${i}]`, depth + 1]))
    else {
      for (const [k, x] of Object.entries(v as Obj)) {
        const f = field === '' ? k : `${field}.${k}`
        if (k.includes('\0') && nuls++ < 8) is.invalid(f, 'must not contain a NUL byte in a key')
        stack.push([x, f, depth + 1])
      }
    }
  }
}

/**
 * Every issue in `config` (empty when it is valid). Issues are values, so a caller can
 * show them all; {@link assertValidConfig} throws them as one error.
 */
export function validateConfig(config: unknown, o: ValidateOptions = {}): ConfigIssue[] {
  const is = new Issues()
  if (!isObj(config)) {
    is.invalid('(config)', 'must be a JSON object')
    return is.list
  }
  checkPlainValues(is, config)
  if (is.list.length > 0) return is.list // the checks below may not survive such values
  checkVersion(is, config['ociVersion'])
  checkRoot(is, config['root'])
  checkProcess(is, config['process'], o)
  checkMounts(is, config['mounts'], config)
  checkLinux(is, config['linux'], config)
  checkHooks(is, config['hooks'])
  checkAnnotations(is, config['annotations'])
  return is.list
}

/** config.md: "Values MUST be strings" (unknown keys are ignored, not their shape). */
function checkAnnotations(is: Issues, a: unknown): void {
  if (a === undefined) return
  if (!isObj(a)) return is.invalid('annotations', 'must be an object of strings')
  for (const [k, v] of Object.entries(a)) {
    if (typeof v !== 'string') is.invalid(`annotations.${k}`, 'must be a string')
  }
}

/** Issues of a `linux.resources` object on its own (what `lxts update --resources` reads). */
export function validateResources(r: unknown): ConfigIssue[] {
  const is = new Issues()
  if (!isObj(r)) is.invalid('linux.resources', 'must be a JSON object')
  else checkResourcesShape(is, r)
  return is.list
}

const SEVERITY: ErrorCode[] = ['ERR_LXTS_INVALID_CONFIG', 'ERR_LXTS_USAGE', 'ERR_LXTS_UNSUPPORTED']

/**
 * Throw when `config` has issues: the code is the most severe one (invalid, then usage,
 * then unsupported), the message lists every issue as `field: message`, and `issues`
 * holds them all.
 */
export function assertValidConfig(config: unknown, o: ValidateOptions = {}): OciConfig {
  const issues = validateConfig(config, o)
  if (issues.length === 0) return config as OciConfig
  const code = SEVERITY.find((c) => issues.some((i) => i.code === c)) ?? 'ERR_LXTS_INVALID_CONFIG'
  const first = issues.find((i) => i.code === code) ?? issues[0]
  const text = issues.map((i) => `${i.field}: ${i.message}`).join('; ')
  const details = first === undefined ? { issues } : { issues, field: first.field }
  const prefix = code === 'ERR_LXTS_UNSUPPORTED' ? 'unsupported config' : code === 'ERR_LXTS_USAGE' ? 'config' : 'invalid config'
  throw new LxtsError(code, `${prefix}: ${text}`, details)
}

/** IPC-namespaced sysctls (as the kernel scopes them; runc's list). */
const IPC_SYSCTLS = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']

/**
 * Why `key` may not be set, or undefined when it is scoped to a namespace the container has:
 * anything else would change the host's value through the container's /proc/sys.
 */
function sysctlRefusal(key: string, ns: ReadonlySet<string>): string | undefined {
  const k = key.replaceAll('/', '.')
  const need = (t: string): string | undefined => (ns.has(t) ? undefined : `is scoped to the ${t} namespace, which the config does not list in linux.namespaces`)
  if (IPC_SYSCTLS.includes(k) || k.startsWith('fs.mqueue.')) return need('ipc')
  if (k === 'kernel.hostname' || k === 'kernel.domainname') return need('uts')
  if (k.startsWith('net.')) return need('network')
  return 'is not namespaced: setting it would change the host (lxts only sets ipc, uts and network sysctls)'
}
