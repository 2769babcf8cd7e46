#!/bin/sh
# Build lxts-helper as a static musl binary, the binary the release packages ship (see
# .github/workflows): musl's start-up does no CPU feature probing, where a static glibc's
# issues dozens of CPUID instructions, each a VM exit under a hypervisor (~0.37 ms of CPU of
# every helper start measured on the machine of the README). A missing musl target is added
# with rustup (tried on each build until it is there; LXTS_HELPER_LIBC=glibc skips that);
# without it, a static glibc build instead, with a notice.
#
# Installed at the package root by rename, never by rewriting the file in place: helpers run
# from a read-only overlay of this very file (the CVE-2019-5736 defence,
# crates/lxts-core/src/container/sealed.rs), and an overlay does not stop the file under it
# from being rewritten (no ETXTBSY), so running helpers would see it.
set -eu
cd "$(dirname "$0")/.."
out=${CARGO_TARGET_DIR:-target}
target=$(scripts/musl-target.sh) # the one `rustc -vV`: later checks are given the triple
musl=
if [ "${LXTS_HELPER_LIBC:-}" != glibc ]; then
  if scripts/musl-target.sh --installed "$target" >/dev/null; then
    musl=1
  elif command -v rustup >/dev/null 2>&1; then
    echo "build-helper: adding the Rust target $target (rustup target add)" >&2
    rustup target add "$target" >&2 || true
    if scripts/musl-target.sh --installed "$target" >/dev/null; then musl=1; fi
  fi
fi
if [ -n "$musl" ]; then
  # crt-static: the default for Rust's musl targets, but not for a musl host's own (Alpine).
  cargo rustc --release -p lxts-helper --bin lxts-helper --target "$target" -- -C target-feature=+crt-static
  built="$out/$target/release/lxts-helper"
else
  echo "build-helper: building a static glibc helper (the released one is musl: $target)" >&2
  cargo rustc --release -p lxts-helper --bin lxts-helper -- -C target-feature=+crt-static
  built="$out/release/lxts-helper"
fi
cp "$built" lxts-helper.new
mv -f lxts-helper.new lxts-helper
