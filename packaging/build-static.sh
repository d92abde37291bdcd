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
#
# Two link options make a pin cheaper (bench/RESULTS.md, "Code layout"):
# - packed relative relocations (DT_RELR): the static-pie relocates itself
#   at every start, and reads 0.6 KB of RELR instead of 57 KB of RELA;
# - packaging/pin-path.order: the functions one pin executes, laid out
#   together, so a pin faults in fewer 64 KiB windows of the binary (peak
#   RSS of one pin 850 against 1500 KiB without it, bench/RESULTS.md). The
#   file names them without Rust's hash suffix, which changes with the
#   compiler, the dependencies and the profile; the names are resolved
#   against the map of the previous link, and the binary relinked when they
#   changed. A stale list only costs memory: the build warns and goes on.
#   PINNS_SYMBOL_ORDER=0 skips this step (one link instead of two).
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
out="${CARGO_TARGET_DIR:-target}/$target/release"
mkdir -p "$out"
out=$(realpath "$out")
order="$out/pin-path.order"
map="$out/pinns.map"
[ -e "$order" ] || : >"$order"

order_flags=()
if [ "${PINNS_SYMBOL_ORDER:-1}" = 1 ]; then
  order_flags=(-C "link-arg=-Wl,--symbol-ordering-file=$order" -C link-arg=-Wl,--no-warn-symbol-ordering)
fi

build() {
  # --target keeps RUSTFLAGS away from build scripts and proc macros, which
  # must stay dynamic.
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static \
    -C link-arg=-Wl,-z,pack-relative-relocs ${order_flags[*]} \
    -C link-arg=-Wl,-Map=$map" \
    cargo build --release --locked --target "$target" >&2
}

# Prints the full names (every instance) of the functions of pin-path.order
# found in the map of the last link; counts the names found on stderr.
resolve() {
  awk '
    function key_of(name) {
      sub(/\.llvm\.[0-9]+$/, "", name)
      sub(/17h[0-9a-f]+E$/, "", name)
      return name
    }
    FNR == NR { if ($0 !~ /^#/ && NF) want[++n] = $1; next }
    # A function is named by its section (.text.NAME or .text.unlikely.NAME:
    # LTO makes most of them local) or, in glibc, by a symbol line.
    $NF ~ /:\(\.text\..+\)$/ || (NF == 5 && $NF !~ /[:()]/) {
      name = $NF
      if (name ~ /:\(\.text\./) {
        sub(/^.*:\(\.text\.((unlikely|hot|startup)\.)?/, "", name)
        sub(/\)$/, "", name)
      }
      key = key_of(name)
      if (!((key, name) in seen)) { seen[key, name]; full[key] = full[key] name "\n" }
    }
    END {
      for (i = 1; i <= n; i++)
        if (want[i] in full) { printf "%s", full[want[i]]; found++ }
      printf "%d of %d\n", found, n > "/dev/stderr"
    }' packaging/pin-path.order "$map"
}

build
laid_out="no symbol ordering (PINNS_SYMBOL_ORDER=0)"
if [ ${#order_flags[@]} -gt 0 ]; then
  resolve >"$order.new" 2>"$order.count"
  if ! cmp -s "$order.new" "$order"; then
    mv "$order.new" "$order"
    # Only the binary's crate is rebuilt: the link (with LTO) is redone.
    touch src/main.rs
    build
  fi
  read -r found _ total <"$order.count"
  laid_out="$found of $total pin-path symbols laid out first"
  if [ "$found" -lt $((total * 9 / 10)) ]; then
    # The ordering only moves code; a stale list costs pages, not correctness.
    echo "build-static: warning: only $found of $total symbols of packaging/pin-path.order" \
      "exist; regenerate it with packaging/gen-pin-order.sh" >&2
  fi
fi

bin="$out/pinns"
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
# The fast pin path runs before glibc's start-up (src/fastpin/): prove on
# this very binary that all it can reach keeps to what that allows.
python3 packaging/check-fast-path.py "$bin" --map "$map" >&2
echo "build-static: $(ldd "$bin" 2>&1 | tr -d '\t'); $(stat -c %s "$bin") bytes; $laid_out" >&2
echo "$bin"
