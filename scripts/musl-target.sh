#!/bin/sh
# Print the musl target triple of this host (x86_64-unknown-linux-musl,
# armv7-unknown-linux-musleabihf, …), the helper's target (scripts/build-helper.sh). With
# --installed, exit 1 unless its Rust standard library is installed; a second argument, the
# triple as printed before, is checked without asking rustc for the host again.
set -eu
if [ -n "${2:-}" ]; then
  target=$2
else
  host=$(${RUSTC:-rustc} -vV | sed -n 's/^host: //p')
  if [ -z "$host" ]; then
    echo "musl-target: cannot tell the host triple from \`${RUSTC:-rustc} -vV\`" >&2
    exit 1
  fi
  target=$(echo "$host" | sed 's/-gnu/-musl/')
fi
if [ "${1:-}" = --installed ] && [ ! -d "$(${RUSTC:-rustc} --print target-libdir --target "$target" 2>/dev/null)" ]; then
  exit 1
fi
echo "$target"
