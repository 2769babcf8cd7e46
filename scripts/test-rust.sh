#!/bin/sh
# cargo test of the core and the helper, then the helper's tests again built for musl, the
# libc it ships with (its abort override only exists there), where that target is installed.
set -eu
cd "$(dirname "$0")/.."
cargo test --workspace --exclude lxts-node
if target=$(scripts/musl-target.sh --installed); then
  cargo test -p lxts-helper --target "$target"
else
  echo "test-rust: no Rust musl target: the helper's tests ran against glibc only" >&2
fi
