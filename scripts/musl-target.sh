#!/bin/sh
# Print the musl target triple of this host (x86_64-unknown-linux-musl,
# armv7-unknown-linux-musleabihf, …), the helper's target (scripts/build-helper.sh). With
# --installed, exit 1 unless its Rust standard library is installed.
set -eu
target=$(rustc -vV | sed -n 's/^host: //p' | sed 's/-gnu/-musl/')
if [ "${1:-}" = --installed ] && [ ! -d "$(rustc --print target-libdir --target "$target" 2>/dev/null)" ]; then
  exit 1
fi
echo "$target"
