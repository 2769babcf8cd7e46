#!/bin/sh
# Run a command as on a cgroup v2 host: in a private mount namespace whose /sys/fs/cgroup is
# the host's cgroup2 hierarchy alone (a hybrid host's v1 mounts are hidden there, lazily
# unmounted; the host's mounts stay as they are, and the namespace ends with the command).
# Needs root. The tests' CGROUP2_VIEW (test/helpers/cli.ts) and bench/run-all.sh --cgroup2-view.
set -eu
if [ $# -eq 0 ]; then
  echo "usage: scripts/cgroup2-view.sh COMMAND [ARG...]" >&2
  exit 2
fi
exec unshare -m --propagation private sh -c 'umount -l /sys/fs/cgroup && mount -t cgroup2 lxts-cgroup2-view /sys/fs/cgroup && exec "$@"' cgroup2-view "$@"
