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
"$here/cli.sh" "${quick[@]}"
"$here/library.mjs" "${quick[@]}"
"$here/memory.mjs" "${quick[@]}"
"$here/scale.mjs" "${quick[@]}" "${n[@]}"
"$here/report.mjs"
