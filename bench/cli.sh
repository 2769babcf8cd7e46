#!/usr/bin/env bash
# CLI latency, lxts next to runc on the same bundle, in one hyperfine run per comparison:
#   run            `lxts run` vs `runc run` of /bin/true (+ the kernel floor, lxc-execute)
#   create/start/delete  the engine split, for both
#   exec           /bin/true into a running container (an exec probe)
#   version/state  the CLI's own start-up cost
# Each run reuses one id: every measured command (or its --prepare) removes the container
# the previous one left. Results: $RESULTS/cli-*.json (hyperfine's export).
# Usage: bench/cli.sh [--quick] [--runs N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
runs=30
warmup=3
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) runs=5; warmup=1 ;;
    --runs) runs=$2; shift ;;
    *) echo "cli.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
bench_dir=$(node "$here/lib/setup.mjs")
results=${RESULTS:-$here/results}
mkdir -p "$results"
lxts_cli=${LXTS_BENCH_CLI:-node $repo/bin/lxts.js}
state_base=${LXTS_BENCH_STATE:-$bench_dir}
lxts="$lxts_cli --root $state_base/state-lxts"
runc="runc --root $state_base/state-runc"
bl=$bench_dir/bundles/true-lxts
br=$bench_dir/bundles/true-runc
id=bench-cli
hf() { hyperfine --style basic --warmup "$warmup" --runs "$runs" "$@"; }
# Between comparisons: nothing of the last one left, the cgroup parent made afresh (setup.mjs).
cleanup() {
  $lxts delete -f "$id" >/dev/null 2>&1 || true
  $runc delete -f "$id" >/dev/null 2>&1 || true
  node "$here/lib/setup.mjs" "${1:-reset}" >/dev/null
  if [ -n "${LXTS_BENCH_LXC:-}" ]; then
    # lxc-execute parks itself in <hierarchy>/lxc.pivot and leaves it: remove it once empty.
    for dir in /sys/fs/cgroup/*/lxc.pivot; do [ -d "$dir" ] && rmdir "$dir" 2>/dev/null || true; done
  fi
}
trap 'cleanup cleanup' EXIT
cleanup

# The kernel floor: the same namespaces with util-linux, no cgroups, no mounts, no config.
floor="unshare --pid --fork --mount --uts --ipc --net chroot $bench_dir/rootfs /bin/true"
extra=()
if [ -n "${LXTS_BENCH_LXC:-}" ] && command -v lxc-execute >/dev/null; then
  # Optional (LXTS_BENCH_LXC=1): lxc-execute with a minimal config on the same rootfs.
  lxc_conf=$bench_dir/lxc.conf
  printf 'lxc.uts.name = bench\nlxc.rootfs.path = dir:%s\nlxc.net.0.type = empty\n' "$bench_dir/rootfs" >"$lxc_conf"
  extra=(-n lxc-execute "lxc-execute -P $bench_dir/lxc -n bench-lxc -f $lxc_conf -- /bin/true")
  mkdir -p "$bench_dir/lxc"
fi

hf -N --export-json "$results/cli-run.json" \
  -n "runc run" "$runc run -b $br $id" \
  -n "lxts run" "$lxts run -b $bl $id" \
  -n "kernel floor (unshare+chroot)" "$floor" \
  "${extra[@]}"

hf --export-json "$results/cli-create.json" \
  -n "runc create" --prepare "$runc delete -f $id" "$runc create -b $br $id" \
  -n "lxts create" --prepare "$lxts delete -f $id" "$lxts create -b $bl $id"
cleanup

hf --export-json "$results/cli-start.json" \
  -n "runc start" --prepare "$runc delete -f $id >/dev/null 2>&1; $runc create -b $br $id" "$runc start $id" \
  -n "lxts start" --prepare "$lxts delete -f $id >/dev/null 2>&1; $lxts create -b $bl $id" "$lxts start $id"
cleanup

# delete of a container whose /bin/true has exited (start, then a moment for it to end)
hf --export-json "$results/cli-delete.json" \
  -n "runc delete" --prepare "$runc delete -f $id >/dev/null 2>&1; $runc create -b $br $id && $runc start $id && sleep 0.05" "$runc delete $id" \
  -n "lxts delete" --prepare "$lxts delete -f $id >/dev/null 2>&1; $lxts create -b $bl $id && $lxts start $id && sleep 0.05" "$lxts delete $id"
cleanup

# exec of /bin/true into a running container (what a Kubernetes exec probe costs)
$runc run -d -b "$bench_dir/bundles/sleep-runc" "$id" >/dev/null
$lxts run -d -b "$bench_dir/bundles/sleep-lxts" "$id"
hf -N --export-json "$results/cli-exec.json" \
  -n "runc exec" "$runc exec $id /bin/true" \
  -n "lxts exec" "$lxts exec $id /bin/true"
cleanup

# state of a created container, and --version: the CLI's own cost
$runc create -b "$br" "$id"
$lxts create -b "$bl" "$id"
hf -N --export-json "$results/cli-state.json" \
  -n "runc state" "$runc state $id" \
  -n "lxts state" "$lxts state $id"
cleanup
extra_ca=()
if [ -n "${LXTS_BENCH_DROPPED_EXTRA_CA:-}" ]; then
  # run-all.sh unset it (see there): what the machine's environment would add to each Node start.
  extra_ca=(-n "node -e 0 with NODE_EXTRA_CA_CERTS" "env NODE_EXTRA_CA_CERTS=$(printf %q "$LXTS_BENCH_DROPPED_EXTRA_CA") node -e 0")
fi
hf -N --export-json "$results/cli-version.json" \
  -n "runc --version" "runc --version" \
  -n "lxts --version" "$lxts_cli --version" \
  -n "node -e 0 (Node's floor)" "node -e 0" \
  "${extra_ca[@]}"
