#!/usr/bin/env bash
# Runs every benchmark, lxts next to runc, and writes bench/results/summary.{md,json}.
#   bench/run-all.sh            full run (30 hyperfine runs, 200 library containers, 500 at once)
#   bench/run-all.sh --quick    every benchmark briefly (CI keeps them working)
#   bench/run-all.sh --n 100    fewer containers at once in the scale benchmark
#   bench/run-all.sh --cgroup2-view   the same in a private mount namespace whose /sys/fs/cgroup
#                               is the host's cgroup2 hierarchy alone: a cgroup v2 host as both
#                               runtimes see it (results in bench/results/cgroup2-view)
# Needs root, hyperfine, runc, busybox-static, and a built lxts (npm run build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
args=("$@")
quick=()
n=()
view=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=(--quick) ;;
    --n) n=(--n "$2"); shift ;;
    --cgroup2-view) view=1 ;;
    *) echo "run-all.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$view" = 1 ] && [ -z "${LXTS_BENCH_CGROUP2_VIEW:-}" ]; then
  # A hybrid host's v1 hierarchies are hidden, nothing of the host's mounts changes: the
  # namespace (and every mount made in it) ends with this script.
  grep -q ' cgroup2 ' /proc/self/mounts || { echo "run-all.sh: --cgroup2-view needs a cgroup2 mount" >&2; exit 1; }
  export LXTS_BENCH_CGROUP2_VIEW=1 RESULTS=${RESULTS:-$here/results/cgroup2-view}
  exec "$here/../scripts/cgroup2-view.sh" "$0" "${args[@]}"
fi
for tool in hyperfine runc unshare; do
  command -v "$tool" >/dev/null || { echo "run-all.sh: $tool is missing (apt-get install -y hyperfine runc busybox-static)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "run-all.sh: run as root" >&2; exit 1; }
# NODE_EXTRA_CA_CERTS makes every Node start parse that PEM bundle before any JS runs (37 ms on
# the machine of the README, whose environment exports it). lxts makes no TLS connection, and a
# stock host does not set it: it is unset for the run (runc never reads it), and cli.sh times
# `node -e 0` with it as well, so the summary shows what it costs. LXTS_BENCH_KEEP_ENV=1 keeps it.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -z "${LXTS_BENCH_KEEP_ENV:-}" ]; then
  export LXTS_BENCH_DROPPED_EXTRA_CA="$NODE_EXTRA_CA_CERTS"
  unset NODE_EXTRA_CA_CERTS
fi
# State roots on a tmpfs, for both runtimes, as /run is on a stock host (see lib/setup.mjs).
if [ -z "${LXTS_BENCH_DISK_STATE:-}" ]; then
  state=${LXTS_BENCH_DIR:-/tmp/lxts-bench}/state
  mkdir -p "$state"
  mountpoint -q "$state" || mount -t tmpfs -o size=512m,mode=0700 lxts-bench-state "$state"
  trap 'umount "$state" 2>/dev/null; rmdir "$state" 2>/dev/null || true' EXIT
  export LXTS_BENCH_STATE=$state
fi
"$here/cli.sh" "${quick[@]}"
"$here/library.mjs" "${quick[@]}"
# Memory limits need the memory controller, which a hybrid host keeps on v1: not in the view.
[ "$view" = 1 ] || "$here/memory.mjs" "${quick[@]}"
"$here/scale.mjs" "${quick[@]}" "${n[@]}"
"$here/report.mjs"
