/**
 * Kubernetes' path: containerd's CRI plugin runs lxts as a runtime handler (what a
 * `RuntimeClass` with `handler: lxts` selects), driven with crictl as the kubelet would:
 * runp (host network), create (with resources)/start, exec (streaming and sync), logs,
 * inspect, update, stop/rm/stopp/rmp, and the lxts wrapper's argv log proves the runc shim
 * called lxts; then a
 * pod network through CNI (Debian's `host-device` plugin moving one end of a veth pair of ours
 * into the pod, static IPAM: no bridge, route or address on the host), where the containers
 * join the sandbox's network, UTS and IPC namespaces by path; and a shared pid namespace.
 * A private containerd (own root, state, socket, native snapshotter, CRI enabled with the
 * README's runtime table) runs for this file only; the sandbox ("pause") and workload images
 * are OCI archives built here and imported into its `k8s.io` namespace: no registry.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { waitFor } from '../helpers/wait.js'
import { cgroupLimits, engineTest, killStragglers, makeWork, ociArchive, removeCgroupTree, removeWork, type Run, run, show, stopDaemon, type Work } from './support.js'

/** Debian's containernetworking-plugins: CRI's own `loopback` and the pod network's plugins. */
const CNI_BIN = '/usr/lib/cni'
const { it, enabled } = engineTest(
  test,
  ['containerd', 'ctr', 'containerd-shim-runc-v2', 'crictl', 'ip', ...['loopback', 'host-device', 'static'].map((p) => join(CNI_BIN, p))],
  'apt-get install containerd containernetworking-plugins iproute2; crictl: .ci/install-crictl, then put the directory it prints on PATH',
)
const tag = randomBytes(4).toString('hex')
const PAUSE = `docker.io/library/lxts-test-pause:${tag}`
const IMAGE = `docker.io/library/lxts-test-busybox:${tag}`
/** The pods' cgroup parent (cgroupfs driver): every sandbox and container cgroup goes below it. */
const CGROUP_PARENT = `/lxts-test-cri-${tag}`
/** Where containerd may mount network namespaces if it made any (host network: it must not). */
const NETNS_DIR = '/var/run/netns'
/** A veth pair of ours: CNI's host-device plugin moves the peer into the pod as its eth0. */
const VETH = `lxtsc${tag}`
const VETH_PEER = `lxtsp${tag}`
const POD_IP = '10.213.7.2'

let w: Work
let sock: string
let daemon: ChildProcess | undefined
let netnsBefore: string[] = []

/** lxts's `--root`: the runtime's `Root` option, plus the containerd namespace the shim appends. */
function runtimeRoot(): string {
  return join(w.dir, 'runtime-root', 'k8s.io')
}

function netnsEntries(): string[] {
  return existsSync(NETNS_DIR) ? readdirSync(NETNS_DIR) : []
}

function crictl(args: string[], opts: { input?: string } = {}): Promise<Run> {
  return run(['crictl', '--config', join(w.dir, 'crictl.yaml'), '--runtime-endpoint', `unix://${sock}`, '--image-endpoint', `unix://${sock}`, '--timeout', '30s', ...args], opts)
}

function ctr(args: string[]): Promise<Run> {
  return run(['ctr', '--address', sock, '--namespace', 'k8s.io', ...args])
}

/** Run crictl, fail the test with its output unless it exits 0; return its trimmed stdout. */
async function ok(args: string[]): Promise<string> {
  const r = await crictl(args)
  if (r.code !== 0) throw new Error(show(['crictl', ...args], r))
  return r.stdout.trim()
}

// NamespaceMode: POD=0, CONTAINER=1, NODE=2
const HOST_NETWORK = { network: 2, pid: 1, ipc: 0 }
const POD_NETWORK = { network: 0, pid: 1, ipc: 0 }
type NamespaceOptions = typeof HOST_NETWORK

/** A pod sandbox config (crictl's JSON form of the CRI PodSandboxConfig), host network by default. */
function podConfig(name: string, ns: NamespaceOptions = HOST_NETWORK): string {
  const path = join(w.dir, `${name}.pod.json`)
  const config = {
    metadata: { name, namespace: 'default', uid: `${name}-${tag}`, attempt: 0 },
    // with the host's network the pod shares the host's UTS namespace, where lxts (like runc)
    // refuses to set a hostname; the kubelet sends none for hostNetwork pods either
    ...(ns.network === 2 ? {} : { hostname: name }),
    log_directory: join(w.dir, 'logs', name),
    linux: {
      cgroup_parent: CGROUP_PARENT,
      security_context: { namespace_options: ns },
    },
  }
  writeFileSync(path, JSON.stringify(config))
  return path
}

/** A container config running `command` in {@link IMAGE}, logging to `<name>.log`. */
function containerConfig(name: string, command: string[], ns: NamespaceOptions = HOST_NETWORK, resources: Record<string, number> = {}): string {
  const path = join(w.dir, `${name}.ctr.json`)
  const config = {
    metadata: { name, attempt: 0 },
    image: { image: IMAGE },
    command,
    log_path: `${name}.log`,
    linux: { resources, security_context: { namespace_options: ns } },
  }
  writeFileSync(path, JSON.stringify(config))
  return path
}

interface Inspect {
  status: { state: string; exitCode: number; reason: string; message: string }
  info?: { runtimeType?: string; runtimeOptions?: { binary_name?: string } }
}

async function inspect(id: string): Promise<Inspect> {
  return JSON.parse(await ok(['inspect', '--output', 'json', id])) as Inspect
}

test.before(async () => {
  if (!enabled) return
  w = makeWork('lxts-engine-cri-')
  sock = join(w.dir, 'containerd.sock')
  netnsBefore = netnsEntries()
  mkdirSync(join(w.dir, 'cni'))
  const cni = { cniVersion: '1.0.0', name: 'lxts-test', plugins: [{ type: 'host-device', device: VETH_PEER, ipam: { type: 'static', addresses: [{ address: `${POD_IP}/24` }] } }] }
  writeFileSync(join(w.dir, 'cni', '10-lxts-test.conflist'), JSON.stringify(cni))
  const veth = await run(['ip', 'link', 'add', VETH, 'type', 'veth', 'peer', 'name', VETH_PEER])
  if (veth.code !== 0) throw new Error(show(['ip link add'], veth))
  writeFileSync(join(w.dir, 'crictl.yaml'), `runtime-endpoint: unix://${sock}\nimage-endpoint: unix://${sock}\ntimeout: 30\n`)
  const config = join(w.dir, 'containerd.toml')
  const q = JSON.stringify
  writeFileSync(
    config,
    [
      'version = 2',
      `root = ${q(join(w.dir, 'root'))}`,
      `state = ${q(join(w.dir, 'state'))}`,
      'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
      '[grpc]',
      `  address = ${q(sock)}`,
      '[ttrpc]',
      `  address = ${q(`${sock}.ttrpc`)}`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${q(join(w.dir, 'opt'))}`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      `  sandbox_image = ${q(PAUSE)}`,
      // any netns it made would live in our dir, not /var/run/netns
      '  netns_mounts_under_state_dir = true',
      // the sandbox asks for oom_score_adj -998: lowering it needs CAP_SYS_RESOURCE, which this
      // project's machines lack (runc fails the same way); clamp to containerd's own value
      '  restrict_oom_score_adj = true',
      '  stream_server_address = "127.0.0.1"',
      '  stream_server_port = "0"',
      '[plugins."io.containerd.grpc.v1.cri".cni]',
      `  conf_dir = ${q(join(w.dir, 'cni'))}`,
      `  bin_dir = ${q(CNI_BIN)}`,
      '[plugins."io.containerd.grpc.v1.cri".containerd]',
      '  snapshotter = "native"',
      // the README's tables, verbatim but for the binary (the wrapper) …
      // a config that names any runtime replaces containerd's default list: keep runc
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
      '  runtime_type = "io.containerd.runc.v2"',
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.lxts]',
      '  runtime_type = "io.containerd.runc.v2"',
      '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.lxts.options]',
      `    BinaryName = ${q(w.wrapper)}`,
      // … and a private runtime root instead of /run/containerd/runc/k8s.io (shared per host)
      `    Root = ${q(join(w.dir, 'runtime-root'))}`,
      '',
    ].join('\n'),
  )
  const log = openSync(join(w.dir, 'containerd.log'), 'a')
  daemon = spawn('containerd', ['--config', config], { stdio: ['ignore', log, log], detached: true })
  const up = await waitFor(async () => (existsSync(sock) && (await crictl(['version'])).code === 0 ? true : undefined), 20_000)
  if (up === undefined) throw new Error(`containerd's CRI did not come up: ${readFileSync(join(w.dir, 'containerd.log'), 'utf8')}`)
  for (const [name, cmd] of [
    [PAUSE, ['sleep', '2147483647']],
    [IMAGE, ['sh']],
  ] as const) {
    const r = await ctr(['images', 'import', '--snapshotter', 'native', await ociArchive(w, name, [...cmd])])
    if (r.code !== 0) throw new Error(`ctr images import ${name}: ${show(['import'], r)}`)
  }
})

test.after.always('remove every pod and container, stop containerd, remove its dirs, cgroups and netns', async (t) => {
  if (!enabled || w === undefined) return
  const leaks: string[] = []
  if (daemon !== undefined && daemon.exitCode === null) {
    const pods = (await crictl(['pods', '--quiet'])).stdout.split('\n').filter(Boolean)
    const ctrs = (await crictl(['ps', '--all', '--quiet'])).stdout.split('\n').filter(Boolean)
    leaks.push(...ctrs.map((id) => `container ${id}`), ...pods.map((id) => `pod ${id}`))
    for (const id of ctrs) await crictl(['rm', '--force', id])
    for (const id of pods) {
      await crictl(['stopp', id])
      await crictl(['rmp', '--force', id])
    }
    for (const name of (await ctr(['images', 'list', '--quiet'])).stdout.split('\n').filter(Boolean)) await ctr(['images', 'remove', name])
    leaks.push(...(await stopDaemon(daemon)))
  }
  // shims (and anything else) started for this file name its socket on their command line
  leaks.push(...killStragglers(w.dir))
  if (existsSync(runtimeRoot())) leaks.push(...readdirSync(runtimeRoot()).map((id) => `lxts state ${id}`))
  removeWork(w.dir)
  for (const ns of netnsEntries().filter((n) => !netnsBefore.includes(n))) leaks.push(`netns ${NETNS_DIR}/${ns}`)
  // ours: the peer is back from the pod (CNI DEL) or gone with its netns; this removes both ends
  await run(['ip', 'link', 'del', VETH])
  if ((await run(['ip', 'link', 'show', VETH_PEER])).code === 0) leaks.push(`link ${VETH_PEER}`)
  leaks.push(...removeCgroupTree(CGROUP_PARENT).map((d) => `cgroup ${d} could not be removed`))
  t.deepEqual(leaks, [], 'nothing may be left behind')
})

it('runp --runtime lxts (host network) + create (resources)/start/exec/logs/inspect/update/stop/rm/stopp/rmp', async (t) => {
  writeFileSync(w.argvLog, '')
  const pod = await ok(['runp', '--runtime', 'lxts', podConfig('p1')])
  t.regex(pod, /^[0-9a-f]{64}$/)
  const podInfo = JSON.parse(await ok(['inspectp', '--output', 'json', pod])) as { status: { state: string }; info?: { runtimeHandler?: string } }
  t.is(podInfo.status.state, 'SANDBOX_READY')
  t.is(podInfo.info?.runtimeHandler, 'lxts')
  const sandboxCreate = readFileSync(w.argvLog, 'utf8')
  const globals = `--root ${runtimeRoot()} --log \\S+/${pod}/log.json --log-format json`
  t.regex(sandboxCreate, new RegExp(`^${globals} create --bundle \\S+ --pid-file \\S+/init.pid ${pod}$`, 'm'), 'the sandbox ("pause") container is lxts\'s')
  t.regex(sandboxCreate, new RegExp(`^${globals} start ${pod}$`, 'm'), sandboxCreate)

  const script = 'echo started; echo to-stderr >&2; trap "echo bye; exit 7" TERM; while true; do sleep 0.1; done'
  // resources as the kubelet sends them (it always sets cpu_shares and oom_score_adj)
  const c1 = await ok(['create', '--no-pull', pod, containerConfig('c1', ['sh', '-c', script], HOST_NETWORK, { memory_limit_in_bytes: 64 << 20, cpu_shares: 512, oom_score_adj: 100 }), podConfig('p1')])
  const created = await inspect(c1)
  t.is(created.status.state, 'CONTAINER_CREATED')
  t.is(created.info?.runtimeType, 'io.containerd.runc.v2')
  t.is(created.info?.runtimeOptions?.binary_name, w.wrapper, 'the lxts handler\'s BinaryName')
  await ok(['start', c1])
  t.is((await inspect(c1)).status.state, 'CONTAINER_RUNNING')
  // the cgroupfs driver: <cgroup_parent>/<container id>
  t.is(cgroupLimits(`${CGROUP_PARENT}/${c1}`).memory, String(64 << 20))
  t.is(await ok(['exec', '--sync', c1, 'cat', '/proc/1/oom_score_adj']), '100')
  // UpdateContainerResources (the kubelet's in-place resize): the shim runs `lxts update`
  await ok(['update', '--memory', String(128 << 20), c1])
  t.is(cgroupLimits(`${CGROUP_PARENT}/${c1}`).memory, String(128 << 20))

  // streaming exec (the stream server) and ExecSync: output and exit status
  const ex = await crictl(['exec', c1, 'sh', '-c', 'echo in-$(hostname); exit 4'])
  t.is(ex.stdout, `in-${hostname()}\n`, show(['exec'], ex))
  t.not(ex.code, 0, 'a failing exec fails crictl')
  t.regex(ex.stderr, /exit code 4/, show(['exec'], ex))
  const sync = await crictl(['exec', '--sync', c1, 'sh', '-c', 'echo sync; ps -o pid,args | grep -c "[s]leep 2147483647"; exit 0'])
  t.is(sync.code, 0, show(['exec --sync'], sync))
  t.is(sync.stdout.trim(), 'sync\n0', 'own pid namespace: the pause process is not visible')
  const stdin = await crictl(['exec', '--interactive', c1, 'cat'], { input: 'piped\n' })
  t.is(stdin.stdout, 'piped\n', show(['exec -i'], stdin))

  const logs = await waitFor(async () => {
    const r = await crictl(['logs', c1])
    return r.stdout.includes('started') && r.stderr.includes('to-stderr') ? r : undefined
  }, 10_000)
  t.truthy(logs, 'crictl logs shows stdout and stderr')

  await ok(['stop', '--timeout', '10', c1])
  const stopped = await inspect(c1)
  t.is(stopped.status.state, 'CONTAINER_EXITED')
  t.is(stopped.status.exitCode, 7, 'SIGTERM reached the trap, its exit status reached the CRI')
  t.regex((await crictl(['logs', c1])).stdout, /bye/)
  await ok(['rm', c1])

  // a container that exits by itself
  const c2 = await ok(['create', '--no-pull', pod, containerConfig('c2', ['sh', '-c', 'echo done; exit 3']), podConfig('p1')])
  await ok(['start', c2])
  const exited = await waitFor(async () => {
    const s = await inspect(c2)
    return s.status.state === 'CONTAINER_EXITED' ? s : undefined
  }, 10_000)
  t.is(exited?.status.exitCode, 3)
  t.is((await crictl(['logs', c2])).stdout, 'done\n')
  await ok(['rm', c2])

  await ok(['stopp', pod])
  t.is((JSON.parse(await ok(['inspectp', '--output', 'json', pod])) as { status: { state: string } }).status.state, 'SANDBOX_NOTREADY')
  await ok(['rmp', pod])
  t.is(await ok(['pods', '--quiet']), '')
  t.deepEqual(readdirSync(runtimeRoot()), [], 'lxts removed the state of every container')

  // runc's argv shapes, for the containers and the execs, all through the wrapper (the 1.6 shim
  // tracks status itself: it runs no `state` on these paths)
  const argv = readFileSync(w.argvLog, 'utf8')
  for (const id of [c1, c2]) {
    const g = `--root ${runtimeRoot()} --log \\S+/${id}/log.json --log-format json`
    t.regex(argv, new RegExp(`^${g} create --bundle \\S+ --pid-file \\S+/init.pid ${id}$`, 'm'), argv)
    t.regex(argv, new RegExp(`^${g} start ${id}$`, 'm'), argv)
    t.regex(argv, new RegExp(`^${g} delete ${id}$`, 'm'), argv)
  }
  t.regex(argv, new RegExp(`^${globals.replace(pod, c1)} exec --process \\S+ --detach --pid-file \\S+ ${c1}$`, 'm'), argv)
  t.regex(argv, new RegExp(`^${globals.replace(pod, c1)} update --resources - ${c1}$`, 'm'), argv)
  t.regex(argv, new RegExp(`^${globals.replace(pod, c1)} kill ${c1} 15$`, 'm'), 'stop sends SIGTERM through lxts kill')
  t.regex(argv, new RegExp(`^${globals} kill ${pod} 9$`, 'm'), 'stopp kills the sandbox through lxts')
  t.regex(argv, new RegExp(`^${globals} delete ${pod}$`, 'm'), argv)
})

it('a missing binary fails crictl create/start with the lxts error; the pod stays usable', async (t) => {
  const pod = await ok(['runp', '--runtime', 'lxts', podConfig('p2')])
  const c3 = await ok(['create', '--no-pull', pod, containerConfig('c3', ['/nonexistent']), podConfig('p2')])
  const start = await crictl(['start', c3])
  t.not(start.code, 0)
  t.regex(start.stderr, /executable file not found.*ERR_LXTS_EXEC_NOT_FOUND/s, show(['start c3'], start))
  await ok(['rm', '--force', c3])
  const c4 = await ok(['create', '--no-pull', pod, containerConfig('c4', ['true']), podConfig('p2')])
  await ok(['start', c4])
  t.is((await waitFor(async () => ((await inspect(c4)).status.state === 'CONTAINER_EXITED' ? true : undefined), 10_000)) ?? false, true)
  await ok(['rm', c4])
  await ok(['stopp', pod])
  await ok(['rmp', pod])
})

it('pod network (CNI): containers join the sandbox network, UTS and IPC namespaces by path', async (t) => {
  const pod = await ok(['runp', '--runtime', 'lxts', podConfig('p3', POD_NETWORK)])
  const podInfo = JSON.parse(await ok(['inspectp', '--output', 'json', pod])) as { status: { network?: { ip?: string } }; info?: { pid?: number } }
  t.is(podInfo.status.network?.ip, POD_IP, 'CNI gave the sandbox its address')
  const sandboxPid = podInfo.info?.pid
  if (sandboxPid === undefined) return t.fail('inspectp gave no sandbox pid')
  const c5 = await ok(['create', '--no-pull', pod, containerConfig('c5', ['sleep', '1000'], POD_NETWORK), podConfig('p3', POD_NETWORK)])
  await ok(['start', c5])
  const bundleConfig = JSON.parse(readFileSync(join(w.dir, 'state', 'io.containerd.runtime.v2.task', 'k8s.io', c5, 'config.json'), 'utf8')) as { linux: { namespaces: { type: string; path?: string }[] } }
  const joined = bundleConfig.linux.namespaces.filter((n) => n.path !== undefined).map((n) => n.type)
  t.deepEqual(joined.sort(), ['ipc', 'network', 'uts'], 'containerd asks lxts to join these by path')
  const out = await ok(['exec', '--sync', c5, 'sh', '-c', 'hostname; ip -o -4 addr show dev eth0 | grep -o "inet [0-9./]*"; for n in net uts ipc pid; do readlink /proc/self/ns/$n; done'])
  const [host, inet, net, uts, ipc, pid] = out.split('\n')
  t.is(host, 'p3')
  t.is(inet, `inet ${POD_IP}/24`)
  t.is(net, readlinkSync(`/proc/${sandboxPid}/ns/net`), 'the sandbox network namespace')
  t.is(uts, readlinkSync(`/proc/${sandboxPid}/ns/uts`), 'the sandbox UTS namespace')
  t.is(ipc, readlinkSync(`/proc/${sandboxPid}/ns/ipc`), 'the sandbox IPC namespace')
  t.not(pid, readlinkSync(`/proc/${sandboxPid}/ns/pid`), 'a pid namespace of its own (pid: CONTAINER)')
  await ok(['stop', '--timeout', '0', c5])
  await ok(['rm', c5])
  await ok(['stopp', pod])
  await ok(['rmp', pod])
  t.is((await run(['ip', 'link', 'show', VETH_PEER])).code, 0, 'CNI DEL gave the device back to the host')
})

it('shareProcessNamespace (pid: POD): the container joins the sandbox pid namespace by path', async (t) => {
  const shared = { network: 2, pid: 0, ipc: 0 }
  const pod = await ok(['runp', '--runtime', 'lxts', podConfig('p4', shared)])
  const c6 = await ok(['create', '--no-pull', pod, containerConfig('c6', ['sleep', '1000'], shared), podConfig('p4', shared)])
  await ok(['start', c6])
  const ps = await ok(['exec', '--sync', c6, 'ps', '-o', 'pid,args'])
  t.regex(ps, /^\s*1\s+sleep 2147483647$/m, 'the pause process is pid 1 of the shared namespace')
  t.regex(ps, /^\s*\d+\s+sleep 1000$/m, ps)
  await ok(['stop', '--timeout', '0', c6])
  await ok(['rm', c6])
  await ok(['stopp', pod])
  await ok(['rmp', pod])
})
