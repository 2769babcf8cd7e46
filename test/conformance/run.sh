#!/bin/bash
# Run the OCI runtime validation suite (opencontainers/runtime-tools) against lxts, one
# executable at a time, and print a per-executable table. Fetches nothing: build the suite
# yourself first (see docs/CONFORMANCE.md), outside this repository:
#
#   git clone https://github.com/opencontainers/runtime-tools /tmp/runtime-tools
#   cd /tmp/runtime-tools && make runtimetest validation-executables   # Go >= 1.21
#
# Usage (as root): test/conformance/run.sh [RUNTIME_TOOLS_DIR] [test-name...]
#   RUNTIME_TOOLS_DIR defaults to /tmp/runtime-tools; names default to every validation/*.
# Env: LXTS (default: <repo>/bin/lxts.js), TIMEOUT per executable (default 60 s),
#      OUT (default /tmp/lxts-conformance) for per-test logs and summary.tsv.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
RT=${1:-/tmp/runtime-tools}
shift || true
LXTS=${LXTS:-$REPO/bin/lxts.js}
TIMEOUT=${TIMEOUT:-60}
OUT=${OUT:-/tmp/lxts-conformance}

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
[ -x "$RT/runtimetest" ] || { echo "$RT/runtimetest missing: build runtime-tools first (see docs/CONFORMANCE.md)" >&2; exit 2; }
[ -f "$LXTS" ] || { echo "$LXTS missing: npm run build" >&2; exit 2; }

mkdir -p "$OUT"
SCRATCH=$(mktemp -d /tmp/lxts-conf-scratch.XXXXXX)
STATE_ROOT="$SCRATCH/root"
WRAPPER="$SCRATCH/lxts-runtime"
mkdir -p "$STATE_ROOT" "$SCRATCH/tmp"
# The suite execs RUNTIME directly: a tiny executable wrapper pins node, the CLI and --root.
cat > "$WRAPPER" <<W
#!/bin/sh
exec "$(command -v node)" "$LXTS" --root "$STATE_ROOT" "\$@"
W
chmod 755 "$WRAPPER"

# Relative cgroup tests create testdir/ under this shell's own cgroup in every hierarchy;
# remember which existed so only ours are removed afterwards.
own_cgroup_dirs() {
  local c
  while IFS=: read -r _ ctrls path; do
    case "$ctrls" in "") c=unified ;; name=*) c=${ctrls#name=} ;; *) c=$ctrls ;; esac
    [ -d "/sys/fs/cgroup/$c$path" ] && echo "/sys/fs/cgroup/$c${path%/}/testdir"
  done < /proc/self/cgroup
}
PRE_EXISTING=$(for d in $(own_cgroup_dirs) /sys/fs/cgroup/*/cgrouptest; do [ -e "$d" ] && echo "$d"; done)

cleanup_after() {
  # Force-delete whatever the test left in our private root.
  for id in $(ls "$STATE_ROOT" 2>/dev/null); do "$WRAPPER" delete --force "$id" >/dev/null 2>&1; done
  # Mounts under our scratch dir (a container without a mount namespace would leave them).
  grep -o " $SCRATCH[^ ]*" /proc/self/mountinfo | sort -r | while read -r mp; do umount -l "$mp" 2>/dev/null; done
  # Cgroups the suite's fixed paths made, deepest first, only if they were not there before.
  for d in $(own_cgroup_dirs) /sys/fs/cgroup/*/cgrouptest; do
    [ -d "$d" ] || continue
    echo "$PRE_EXISTING" | grep -qxF "$d" && continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
}

if [ $# -gt 0 ]; then TESTS="$*"; else TESTS=$(cd "$RT/validation" && ls -d */ | tr -d / | grep -v '^util$'); fi
SUMMARY="$OUT/summary.tsv"
printf 'test\tstatus\tok\tnot_ok\tskip\texit\tseconds\n' > "$SUMMARY"
cd "$RT" || exit 2
for t in $TESTS; do
  exe="validation/$t/$t.t"
  [ -x "$exe" ] || { printf '%s\tMISSING\t0\t0\t0\t-\t0\n' "$t" >> "$SUMMARY"; continue; }
  start=$(date +%s.%N)
  TMPDIR="$SCRATCH/tmp" RUNTIME="$WRAPPER" timeout "$TIMEOUT" "./$exe" > "$OUT/$t.log" 2>&1
  rc=$?
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  cleanup_after
  python3 - "$t" "$rc" "$secs" "$OUT/$t.log" >> "$SUMMARY" <<'PY'
import re, sys
name, rc, secs, log = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
text = open(log, errors='replace').read()
ok = len(re.findall(r'^ok \d+', text, re.M))
notok = len(re.findall(r'^not ok \d+', text, re.M))
skip = len(re.findall(r'^ok \d+.*# (?i:skip)', text, re.M))
ok -= skip
plans = re.findall(r'^1\.\.(\d+)', text, re.M)
diag = bool(plans) and all(p == '0' for p in plans) and re.search(r'^\s+---\s*$', text, re.M) is not None
if rc == 124: status = 'TIMEOUT'
elif notok > 0: status = 'FAIL'
elif diag: status = 'DIAG'
elif rc != 0: status = 'CRASH'
else: status = 'PASS'
print(f'{name}\t{status}\t{ok}\t{notok}\t{skip}\t{rc}\t{secs:.1f}')
PY
  tail -1 "$SUMMARY"
done
rm -rf "$SCRATCH" 2>/dev/null
echo
awk -F'\t' 'NR>1 {n[$2]++; ok+=$3; nok+=$4; sk+=$5} END {for (s in n) printf "%s=%d ", s, n[s]; printf "\nassertions: ok=%d not_ok=%d skip=%d\n", ok, nok, sk}' "$SUMMARY"
