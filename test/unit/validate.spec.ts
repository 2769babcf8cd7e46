import test from 'ava'

import { defaultSpec } from '../../ts/config/defaults.js'
import { parseConfigText } from '../../ts/config/parse.js'
import { assertValidConfig, validateConfig, CAPABILITIES } from '../../ts/config/validate.js'
import type { OciConfig } from '../../ts/config/types.js'
import { LxtsError } from '../../ts/errors.js'

/** A valid config (runc's default without a terminal). */
function good(): OciConfig {
  const c = defaultSpec()
  if (c.process !== undefined) c.process.terminal = false
  return c
}

/** Validate `mutate(good())` and return the issues' fields. */
function fieldsOf(mutate: (c: any) => void): string[] {
  const c = good()
  mutate(c)
  return validateConfig(c).map((i) => i.field)
}

test('runc default config passes, but for its terminal', (t) => {
  t.deepEqual(validateConfig(good()), [])
  const rootless = defaultSpec({ rootless: true, hostUid: 1000, hostGid: 1000 })
  if (rootless.process !== undefined) rootless.process.terminal = false
  t.deepEqual(validateConfig(rootless), [])
  // terminals need a console socket
  t.deepEqual(validateConfig(defaultSpec(), { consoleSocket: '/tmp/sock' }), [])
  t.deepEqual(validateConfig(defaultSpec()).map((i) => [i.code, i.field]), [['ERR_LXTS_USAGE', 'process.terminal']])
})

test('a console socket without a terminal is ERR_LXTS_USAGE', (t) => {
  t.throws(() => assertValidConfig(good(), { consoleSocket: '/tmp/s' }), { code: 'ERR_LXTS_USAGE' } as never)
})

test('terminal without console socket is ERR_LXTS_USAGE naming process.terminal', (t) => {
  const e = t.throws(() => assertValidConfig(defaultSpec()), { instanceOf: LxtsError })
  t.is(e?.code, 'ERR_LXTS_USAGE')
  t.is(e?.field, 'process.terminal')
})

test('ociVersion range 1.0.x – 1.3.x', (t) => {
  for (const v of ['1.0.0', '1.0.2-dev', '1.1.0', '1.2.1', '1.3.0', '1.3.10']) {
    t.deepEqual(fieldsOf((c) => (c.ociVersion = v)), [], v)
  }
  for (const v of ['0.9.0', '1.4.0', '2.0.0', 'x', '', 1]) {
    t.deepEqual(fieldsOf((c) => (c.ociVersion = v)), ['ociVersion'], String(v))
  }
  t.deepEqual(fieldsOf((c) => delete c.ociVersion), ['ociVersion'])
})

const bad: [string, (c: any) => void, string][] = [
  ['missing root.path', (c) => delete c.root.path, 'root.path'],
  ['missing root', (c) => delete c.root, 'root'],
  ['empty args', (c) => (c.process.args = []), 'process.args'],
  ['missing args', (c) => delete c.process.args, 'process.args'],
  ['args not strings', (c) => (c.process.args = ['sh', 1]), 'process.args'],
  ['relative cwd', (c) => (c.process.cwd = 'tmp'), 'process.cwd'],
  ['bad env', (c) => (c.process.env = ['PATH=/bin', 'NOEQUALS']), 'process.env[1]'],
  ['bad uid', (c) => (c.process.user.uid = -1), 'process.user.uid'],
  ['unknown namespace', (c) => c.linux.namespaces.push({ type: 'foo' }), 'linux.namespaces[6].type'],
  ['duplicate namespace', (c) => c.linux.namespaces.splice(2, 0, { type: 'pid' }), 'linux.namespaces[2].type'],
  ['relative namespace path', (c) => (c.linux.namespaces[1].path = 'netns'), 'linux.namespaces[1].path'],
  ['unknown capability', (c) => c.process.capabilities.bounding.push('CAP_FLY'), 'process.capabilities.bounding[3]'],
  ['unknown rlimit', (c) => c.process.rlimits.push({ type: 'RLIMIT_FOO', soft: 1, hard: 1 }), 'process.rlimits[1].type'],
  ['soft > hard', (c) => (c.process.rlimits[0].soft = 4096), 'process.rlimits[0].soft'],
  ['relative mount destination', (c) => (c.mounts[3].destination = 'dev/shm'), 'mounts[3].destination'],
  ['missing mount destination', (c) => delete c.mounts[0].destination, 'mounts[0].destination'],
  ['mapping without user ns', (c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), 'linux.uidMappings'],
  ['hostname without uts', (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'uts')), 'hostname'],
  ['bad propagation', (c) => (c.linux.rootfsPropagation = 'sideways'), 'linux.rootfsPropagation'],
  ['relative masked path', (c) => c.linux.maskedPaths.push('proc/x'), 'linux.maskedPaths[10]'],
  ['bad device type', (c) => (c.linux.devices = [{ path: '/dev/x', type: 'q' }]), 'linux.devices[0].type'],
  ['rootfsPropagation without a mount namespace', (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'mount')
    c.linux.rootfsPropagation = 'private'
  }, 'linux.rootfsPropagation'],
  ['a user namespace without a mount namespace', (c) => {
    c.linux.namespaces = [{ type: 'pid' }, { type: 'uts' }, { type: 'user' }]
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]
  }, 'linux.namespaces'],
]

for (const [name, mutate, field] of bad) {
  test(`invalid: ${name} names ${field}`, (t) => {
    const c = good()
    mutate(c)
    const issues = validateConfig(c)
    t.true(issues.some((i) => i.field === field && i.code === 'ERR_LXTS_INVALID_CONFIG'), JSON.stringify(issues))
    const e = t.throws(() => assertValidConfig(c), { instanceOf: LxtsError })
    t.is(e?.code, 'ERR_LXTS_INVALID_CONFIG')
    t.true(e?.message.includes(field))
  })
}

test('a config without a mount namespace (or without any namespace) is valid: the host namespaces are inherited', (t) => {
  t.deepEqual(fieldsOf((c) => (c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'mount'))), [])
  // runtime-tools' linux_ns_itype: every namespace removed, no hostname
  t.deepEqual(fieldsOf((c) => {
    c.linux.namespaces = []
    delete c.hostname
  }), [])
  t.deepEqual(fieldsOf((c) => {
    c.linux.namespaces = [{ type: 'pid' }, { type: 'network' }]
    delete c.hostname
  }), [])
  // with its mount namespace the same propagation is fine
  t.deepEqual(fieldsOf((c) => (c.linux.rootfsPropagation = 'private')), [])
})

test('bad id mappings: zero size, overlap, overflow', (t) => {
  const withUser = (m: unknown[]) => (c: any) => {
    c.linux.namespaces.push({ type: 'user' })
    c.linux.uidMappings = m
    c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]
  }
  t.deepEqual(fieldsOf(withUser([{ containerID: 0, hostID: 1000, size: 0 }])), ['linux.uidMappings[0].size', 'linux.uidMappings'])
  t.deepEqual(
    fieldsOf(withUser([{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 5, hostID: 5000, size: 10 }])),
    ['linux.uidMappings[1].containerID'],
  )
  t.deepEqual(fieldsOf(withUser([{ containerID: 0, hostID: 4294967295, size: 2 }])), ['linux.uidMappings[0].size', 'linux.uidMappings'])
  t.deepEqual(fieldsOf(withUser([{ containerID: 0, hostID: -1, size: 1 }])), ['linux.uidMappings[0].hostID', 'linux.uidMappings'])
  t.deepEqual(fieldsOf(withUser([{ containerID: 0, hostID: 100000, size: 65536 }])), [])
  t.deepEqual(fieldsOf((c) => c.linux.namespaces.push({ type: 'user' })), ['linux.uidMappings'])
})

test('idmapped mounts: mappings checked as linux.uidMappings, bind only, in pairs, idmap alone needs a new user namespace', (t) => {
  const map = [{ containerID: 0, hostID: 1000, size: 1 }]
  const bind = (m: Record<string, unknown>) => (c: any) => c.mounts.push({ destination: '/data', type: 'bind', source: '/srv', options: ['rbind'], ...m })
  const i = 7 // the default config has seven mounts
  t.deepEqual(fieldsOf(bind({ options: ['rbind', 'ridmap'], uidMappings: map, gidMappings: map })), [])
  t.deepEqual(fieldsOf(bind({ uidMappings: map, gidMappings: map })), [], 'mappings without the option: idmap')
  t.deepEqual(fieldsOf(bind({ uidMappings: map })), [`mounts[${i}].gidMappings`])
  t.deepEqual(fieldsOf(bind({ uidMappings: [{ containerID: 0, hostID: 1000, size: 0 }], gidMappings: map })), [`mounts[${i}].uidMappings[0].size`])
  t.deepEqual(fieldsOf(bind({ type: 'tmpfs', options: ['idmap'] })), [`mounts[${i}]`])
  t.deepEqual(fieldsOf(bind({ type: 'cgroup', options: ['rbind', 'idmap'] })), [`mounts[${i}]`], "a cgroup mount's binds are lxts's own")
  t.deepEqual(fieldsOf(bind({ options: ['bind', 'idmap'] })), [`mounts[${i}].options`], 'idmap alone without a user namespace')
  const userns = (c: any): void => {
    c.linux.namespaces.push({ type: 'user' })
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }]
  }
  t.deepEqual(fieldsOf((c) => (userns(c), bind({ options: ['bind', 'idmap'] })(c))), [], "idmap alone: the user namespace's mappings")
  const joined = (c: any): void => {
    c.linux.namespaces.push({ type: 'user', path: '/proc/1/ns/user' })
  }
  t.deepEqual(fieldsOf((c) => (joined(c), bind({ uidMappings: map, gidMappings: map })(c))), [`mounts[${i}]`], 'a joined user namespace: the helper cannot idmap')
})

test('process.scheduler, process.ioPriority and linux.memoryPolicy: names and ranges checked, each field named', (t) => {
  t.deepEqual(fieldsOf((c) => (c.process.scheduler = { policy: 'SCHED_DEADLINE', runtime: 1e6, deadline: 2e6, period: 2e6, flags: ['SCHED_FLAG_RECLAIM'] })), [])
  t.deepEqual(fieldsOf((c) => (c.process.scheduler = { policy: 'SCHED_OTHER', nice: 1.5, priority: -1, flags: ['X'] })), [
    'process.scheduler.nice',
    'process.scheduler.priority',
    'process.scheduler.flags[0]',
  ])
  t.deepEqual(fieldsOf((c) => (c.process.scheduler = { nice: 0 })), ['process.scheduler.policy'])
  t.deepEqual(fieldsOf((c) => (c.process.ioPriority = { class: 'IOPRIO_CLASS_RT', priority: 0 })), [])
  t.deepEqual(fieldsOf((c) => (c.process.ioPriority = { class: 'RT' })), ['process.ioPriority.class', 'process.ioPriority.priority'])
  t.deepEqual(fieldsOf((c) => (c.linux.memoryPolicy = { mode: 'MPOL_INTERLEAVE', nodes: '0-3, 7', flags: ['MPOL_F_STATIC_NODES'] })), [])
  t.deepEqual(fieldsOf((c) => (c.linux.memoryPolicy = { mode: 'MPOL_X', nodes: '1-', flags: ['F'] })), [
    'linux.memoryPolicy.mode',
    'linux.memoryPolicy.nodes',
    'linux.memoryPolicy.flags[0]',
  ])
})

test('linux.netDevices: interface names, a new network namespace', (t) => {
  t.deepEqual(fieldsOf((c) => (c.linux.netDevices = { eth1: { name: 'net%d' }, eth2: {} })), [])
  t.deepEqual(fieldsOf((c) => (c.linux.netDevices = { 'a/b': {}, eth3: { name: 'way-too-long-name0' }, eth4: 'x' })), [
    'linux.netDevices.a/b',
    'linux.netDevices.eth3.name',
    'linux.netDevices.eth4',
  ])
  t.deepEqual(fieldsOf((c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'network')
    c.linux.netDevices = { eth1: {} }
  }), ['linux.netDevices'])
  t.deepEqual(fieldsOf((c) => (c.linux.netDevices = { eth1: { name: 'e%s' }, eth2: { name: 'a%d%d' }, eth5: { name: 'eth6' }, eth6: {} })), [
    'linux.netDevices.eth1.name',
    'linux.netDevices.eth2.name',
    'linux.netDevices.eth6.name',
  ], 'one %d at most; two devices may not take one name')
})

test('all issues are collected, not just the first', (t) => {
  const fields = fieldsOf((c) => {
    c.process.args = []
    c.process.cwd = 'x'
    c.mounts[0].destination = 'proc'
  })
  t.deepEqual(fields, ['process.args', 'process.cwd', 'mounts[0].destination'])
})

const unsupported: [string, (c: any) => void, string][] = [
  ['apparmor', (c) => (c.process.apparmorProfile = 'docker-default'), 'process.apparmorProfile'],
  ['selinux', (c) => (c.process.selinuxLabel = 'system_u:system_r:container_t:s0'), 'process.selinuxLabel'],
  ['systemd cgroup path', (c) => (c.linux.cgroupsPath = 'system.slice:lxts:c1'), 'linux.cgroupsPath'],
]

for (const [name, mutate, field] of unsupported) {
  test(`unsupported: ${name} is ERR_LXTS_UNSUPPORTED naming ${field}`, (t) => {
    const c = good()
    mutate(c)
    const e = t.throws(() => assertValidConfig(c), { instanceOf: LxtsError })
    t.is(e?.code, 'ERR_LXTS_UNSUPPORTED')
    t.is(e?.field, field)
  })
}

test('linux.timeOffsets: needs a new time namespace; clocks monotonic and boottime; secs safe integers, nanosecs below 1e9', (t) => {
  const time = (offsets: unknown, ns: Record<string, unknown> | null = { type: 'time' }): string[] =>
    fieldsOf((c) => {
      if (ns !== null) c.linux.namespaces.push(ns)
      c.linux.timeOffsets = offsets
    })
  t.deepEqual(time({ monotonic: { secs: -5, nanosecs: 999_999_999 }, boottime: { secs: 1_000_000 } }), [])
  t.deepEqual(time({ boottime: {} }), [])
  t.deepEqual(time({}, null), [], 'an empty object asks for nothing')
  t.deepEqual(time({ boottime: { secs: 1 } }, null), ['linux.timeOffsets'])
  t.deepEqual(time({ boottime: { secs: 1 } }, { type: 'time', path: '/proc/1/ns/time' }), ['linux.timeOffsets'])
  t.deepEqual(time({ realtime: { secs: 1 } }), ['linux.timeOffsets.realtime'])
  t.deepEqual(time({ monotonic: 5 }), ['linux.timeOffsets.monotonic'])
  t.deepEqual(time({ monotonic: { secs: 1.5 } }), ['linux.timeOffsets.monotonic.secs'])
  t.deepEqual(time({ monotonic: { secs: 2 ** 60 } }), ['linux.timeOffsets.monotonic.secs'])
  t.deepEqual(time({ boottime: { nanosecs: 1e9 } }), ['linux.timeOffsets.boottime.nanosecs'])
  t.deepEqual(time({ boottime: { nanosecs: -1 } }), ['linux.timeOffsets.boottime.nanosecs'])
  t.deepEqual(time('1s'), ['linux.timeOffsets'])
  // a time namespace without offsets, new or joined, is fine
  t.deepEqual(fieldsOf((c) => c.linux.namespaces.push({ type: 'time' })), [])
  t.deepEqual(fieldsOf((c) => c.linux.namespaces.push({ type: 'time', path: '/proc/1/ns/time' })), [])
})

test('linux.personality: domain LINUX or LINUX32, no flags (runtime-spec defines none)', (t) => {
  const pers = (p: unknown): string[] => fieldsOf((c) => (c.linux.personality = p))
  t.deepEqual(pers({ domain: 'LINUX' }), [])
  t.deepEqual(pers({ domain: 'LINUX32', flags: [] }), [])
  t.deepEqual(pers({ domain: 'BSD' }), ['linux.personality.domain'])
  t.deepEqual(pers({}), ['linux.personality.domain'])
  t.deepEqual(pers({ domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE', 'X'] }), ['linux.personality.flags[0]', 'linux.personality.flags[1]'])
  t.deepEqual(pers({ domain: 'LINUX', flags: 'x' }), ['linux.personality.flags'])
  t.deepEqual(pers('LINUX32'), ['linux.personality'])
  const c = good()
  c.linux = { ...c.linux, personality: { domain: 'LINUX', flags: ['X'] } }
  const e = t.throws(() => assertValidConfig(c), { instanceOf: LxtsError })
  t.is(e?.code, 'ERR_LXTS_INVALID_CONFIG')
})

test('seccomp notify: SCMP_ACT_NOTIFY needs an absolute listenerPath, never as default, never on sendmsg/shutdown', (t) => {
  const notify = (s: Record<string, unknown>): string[] =>
    fieldsOf((c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }], ...s }))
  t.deepEqual(notify({ listenerPath: '/run/agent.sock', listenerMetadata: 'opaque', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }), [])
  t.deepEqual(notify({}), ['linux.seccomp.listenerPath'])
  t.deepEqual(notify({ listenerPath: 'agent.sock' }), ['linux.seccomp.listenerPath'])
  t.deepEqual(notify({ listenerMetadata: 'x' }), ['linux.seccomp.listenerMetadata', 'linux.seccomp.listenerPath'])
  t.deepEqual(notify({ listenerPath: '/a', syscalls: [{ names: ['read', 'sendmsg'], action: 'SCMP_ACT_NOTIFY' }] }), ['linux.seccomp.syscalls[0].names[1]'])
  t.deepEqual(notify({ listenerPath: '/a', syscalls: [{ names: ['shutdown'], action: 'SCMP_ACT_NOTIFY' }] }), ['linux.seccomp.syscalls[0].names[0]'])
  t.deepEqual(notify({ listenerPath: '/a', defaultAction: 'SCMP_ACT_NOTIFY' }), ['linux.seccomp.defaultAction'])
  // listenerPath without a NOTIFY rule is ignored (runtime-spec); sendmsg may be denied otherwise.
  t.deepEqual(notify({ listenerPath: '/a', syscalls: [{ names: ['sendmsg'], action: 'SCMP_ACT_ERRNO' }] }), [])
})

test('empty unsupported sections and the default device rule are accepted', (t) => {
  t.deepEqual(fieldsOf((c) => ((c.hooks = { prestart: [] }), (c.linux.resources.memory = {}))), [])
})

test('createContainer and startContainer hooks are accepted (the init runs them)', (t) => {
  t.deepEqual(fieldsOf((c) => (c.hooks = { createContainer: [{ path: '/bin/true' }], startContainer: [{ path: '/bin/true', timeout: 2 }] })), [])
  t.deepEqual(fieldsOf((c) => (c.hooks = { startContainer: [{ path: 'rel' }] })), ['hooks.startContainer[0].path'])
})

test('annotation values must be strings (config.md), each named', (t) => {
  t.deepEqual(fieldsOf((c) => (c.annotations = { ok: 'x', n: -1, list: ['a'], obj: {} })), ['annotations.n', 'annotations.list', 'annotations.obj'])
  t.deepEqual(fieldsOf((c) => (c.annotations = ['a'])), ['annotations'])
})

test('unknown fields and annotations are ignored', (t) => {
  t.deepEqual(fieldsOf((c) => ((c.somethingNew = { x: 1 }), (c.annotations = { 'a.b': 'c' }), (c.process.foo = 1))), [])
})

test('all 41 capabilities are known', (t) => {
  t.is(CAPABILITIES.length, 41)
  t.deepEqual(fieldsOf((c) => (c.process.capabilities.bounding = [...CAPABILITIES])), [])
})

test('JSON errors carry a position', (t) => {
  const e = t.throws(() => parseConfigText('{\n  "ociVersion": "1.0.0",\n  oops\n}', 'b/config.json'), { instanceOf: LxtsError })
  t.is(e?.code, 'ERR_LXTS_INVALID_CONFIG')
  t.regex(e?.message ?? '', /^b\/config\.json:3:\d+: invalid JSON/)
  t.throws(() => parseConfigText('[]'), { code: 'ERR_LXTS_INVALID_CONFIG' } as never)
})

test('linux.sysctl: namespaced keys pass; host-wide keys, or keys of a namespace not listed, are refused by name', (t) => {
  t.deepEqual(fieldsOf((c) => (c.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1000', 'fs.mqueue.msg_max': '20' })), [])
  t.deepEqual(fieldsOf((c) => (c.linux.sysctl = { 'vm.overcommit_memory': '1' })), ['linux.sysctl.vm.overcommit_memory'])
  t.deepEqual(
    fieldsOf((c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'network')
      c.linux.sysctl = { 'net.ipv4.ip_forward': '1' }
    }),
    ['linux.sysctl.net.ipv4.ip_forward'],
  )
})
