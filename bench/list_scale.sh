#!/usr/bin/env bash
# Measures `pinns list` and an orphan-sweep dry run over many pins: both
# match processes to pins through one /proc scan, so their cost should grow
# with pins + processes, not pins x processes. Prints figures; asserts nothing.
# Usage: bench/list_scale.sh [PINS] [EXTRA_PROCESSES] [PINNS_BINARY]   (as root)
# THREADS=N gives each extra process N threads (python3), for the per-task
# scan: liveness looks at every task, not only thread-group leaders.
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
threads=${THREADS:-0}
for _ in $(seq 1 "$extra"); do
  if [ "$threads" -gt 0 ]; then
    python3 -c "import threading, time
for _ in range($threads): threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
time.sleep(600)" &
  else
    sleep 600 &
  fi
  sleepers+=($!)
done
# Until every extra process has its threads.
want=$((extra * (threads + 1)))
for _ in $(seq 1 100); do
  have=0
  for p in "${sleepers[@]}"; do have=$((have + $(ls "/proc/$p/task" 2>/dev/null | wc -l))); done
  [ "$have" -ge "$want" ] && break
  sleep 0.2
done
echo "processes on the node: $(ls -d /proc/[0-9]* 2>/dev/null | wc -l), tasks: $(ls -d /proc/[0-9]*/task/[0-9]* 2>/dev/null | wc -l)"
# Binaries from before the runtime question have no --no-runtime.
help=$("$bin" cleanup --help)
nr=$(case $help in *--no-runtime*) echo --no-runtime ;; esac)

measure() {
  local label=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$label: $(echo "$t1 - $t0" | bc) s"
}
for run in 1 2 3 4 5; do
  measure "list, run $run" "$bin" list -d "$dir" $nr
done
measure "list --json" "$bin" list -d "$dir" --json $nr
measure "cleanup --orphans --dry-run --older-than 0s" "$bin" cleanup -d "$dir" --orphans --dry-run --older-than 0s $nr
measure "cleanup --orphans --older-than 0s (removes all)" "$bin" cleanup -d "$dir" --orphans --older-than 0s $nr
echo "nsfs mounts left under $dir: $(findmnt -rn -t nsfs -o TARGET | grep -c "^$dir/" || true)"
