#!/usr/bin/env bash
# Runs every benchmark, lxts next to runc, and writes bench/results/summary.{md,json}.
#   bench/run-all.sh            full run (30 hyperfine runs, 200 library containers, 500 at once)
#   bench/run-all.sh --quick    every benchmark briefly (CI keeps them working)
#   bench/run-all.sh --n 100    fewer containers at once in the scale benchmark
# Needs root, hyperfine, runc, busybox-static, and a built lxts (npm run build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
quick=()
n=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=(--quick) ;;
    --n) n=(--n "$2"); shift ;;
    *) echo "run-all.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
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
"$here/memory.mjs" "${quick[@]}"
"$here/scale.mjs" "${quick[@]}" "${n[@]}"
"$here/report.mjs"
