#!/bin/sh
# cargo test of the core and the helper (arguments go to both cargo test runs), then the
# helper's tests again built for musl, the libc it ships with (its abort override only exists
# there), where that target is installed; required with LXTS_REQUIRE_INTEGRATION=1 (CI).
set -eu
cd "$(dirname "$0")/.."
cargo test --workspace --exclude lxts-node "$@"
if target=$(scripts/musl-target.sh --installed); then
  cargo test -p lxts-helper --target "$target" "$@"
elif [ "${LXTS_REQUIRE_INTEGRATION:-}" = 1 ]; then
  echo "test-rust: LXTS_REQUIRE_INTEGRATION=1 but no Rust musl target (rustup target add \$(scripts/musl-target.sh))" >&2
  exit 1
else
  echo "test-rust: no Rust musl target: the helper's tests ran against glibc only" >&2
fi
