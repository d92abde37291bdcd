#!/usr/bin/env bash
# Builds a self-contained pinns: glibc linked statically (static-pie), as
# CRI-O's own helper is shipped, so the binary runs on any x86_64 node and in
# a FROM scratch image. Prints the path of the binary on stdout, last.
#
#   packaging/build-static.sh            # build and check
#   CARGO_TARGET_DIR=/x packaging/build-static.sh
#
# The musl target is not needed: glibc's static libraries (libc6-dev) are
# enough because pinns uses no NSS lookups (no getpwnam, no DNS).
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
# --target keeps RUSTFLAGS away from build scripts and proc macros, which
# must stay dynamic.
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release --locked --target "$target" >&2

bin="${CARGO_TARGET_DIR:-target}/$target/release/pinns"

# Self-contained means: no program interpreter and no needed libraries.
if readelf -lW "$bin" | grep -q 'INTERP'; then
  echo "build-static: $bin asks for a dynamic loader" >&2
  exit 1
fi
if readelf -dW "$bin" | grep -q '(NEEDED)'; then
  echo "build-static: $bin needs shared libraries:" >&2
  readelf -dW "$bin" | grep '(NEEDED)' >&2
  exit 1
fi
echo "build-static: $(ldd "$bin" 2>&1 | tr -d '\t'); $(stat -c %s "$bin") bytes" >&2
echo "$bin"
