#!/bin/sh
# Build lxts-helper as a static musl binary, the binary the release packages ship (see
# .github/workflows): musl's start-up does no CPU feature probing, where a static glibc's
# issues dozens of CPUID instructions, each a VM exit under a hypervisor (~0.3 ms of every
# helper start measured on the machine of the README). Without the musl target and no rustup
# to add it, a static glibc build instead (with a notice).
#
# Installed at the package root by rename, never by rewriting the file in place: helpers run
# from a read-only overlay of this very file (the CVE-2019-5736 defence,
# crates/lxts-core/src/container/sealed.rs), and an overlay does not stop the file under it
# from being rewritten (no ETXTBSY), so running helpers would see it.
set -eu
cd "$(dirname "$0")/.."
target="$(uname -m)-unknown-linux-musl"
has_target() { [ -d "$(rustc --print target-libdir --target "$target" 2>/dev/null)" ]; }
if ! has_target && command -v rustup >/dev/null 2>&1; then
  echo "build-helper: adding the Rust target $target (rustup target add)" >&2
  rustup target add "$target" >&2 || true
fi
if has_target; then
  cargo build --release -p lxts-helper --bin lxts-helper --target "$target"
  built="target/$target/release/lxts-helper"
else
  echo "build-helper: no Rust target $target: building a static glibc helper instead" >&2
  cargo rustc --release -p lxts-helper --bin lxts-helper -- -C target-feature=+crt-static
  built=target/release/lxts-helper
fi
cp "$built" lxts-helper.new
mv -f lxts-helper.new lxts-helper
