#!/usr/bin/env bash
# Measures `pinns list` and an orphan-sweep dry run over many pins: both
# match processes to pins through one /proc scan, so their cost should grow
# with pins + processes, not pins x processes. Prints figures; asserts nothing.
# Usage: bench/list_scale.sh [PINS] [EXTRA_PROCESSES] [PINNS_BINARY]   (as root)
set -euo pipefail
pins=${1:-5000}
extra=${2:-2000}
bin=${3:-$(dirname "$0")/../target/debug/pinns}
sleepers=()
dir=$(mktemp -d /tmp/pinns-bench-XXXXXX)
cleanup() {
  [ ${#sleepers[@]} -gt 0 ] && kill "${sleepers[@]}" 2>/dev/null || true
  findmnt -rn -o TARGET | grep "^$dir/" | sort -r | xargs -r -n 200 umount -l
  rm -rf "$dir"
}
trap cleanup EXIT

start=$(date +%s.%N)
for i in $(seq 1 "$pins"); do
  # CRI-O-shaped names (lowercase UUIDs): only those are swept.
  "$bin" -d "$dir" -f "$(printf '%08x-0000-4000-8000-000000000000' "$i")" --uts --ipc
done
end=$(date +%s.%N)
echo "pinned $pins pods (uts+ipc): $(echo "$end - $start" | bc) s"
for _ in $(seq 1 "$extra"); do sleep 600 & sleepers+=($!); done
echo "processes on the node: $(ls -d /proc/[0-9]* | wc -l)"

measure() {
  local label=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$label: $(echo "$t1 - $t0" | bc) s"
}
for run in 1 2 3; do
  measure "list, run $run" "$bin" list -d "$dir" --no-runtime
done
measure "list --json" "$bin" list -d "$dir" --json --no-runtime
measure "cleanup --orphans --dry-run --older-than 0s" "$bin" cleanup -d "$dir" --orphans --dry-run --older-than 0s --no-runtime
measure "cleanup --orphans --older-than 0s (removes all)" "$bin" cleanup -d "$dir" --orphans --older-than 0s --no-runtime
echo "nsfs mounts left under $dir: $(findmnt -rn -t nsfs -o TARGET | grep -c "^$dir/" || true)"
