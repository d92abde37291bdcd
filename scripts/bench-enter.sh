#!/usr/bin/env bash
# What `pinns enter` costs per call, next to util-linux nsenter joining the
# same pinned namespaces: both run `true` N times; prints ms per call.
# The difference is mostly enter's one pass over /proc (to find the pod's
# tasks: one readlink per process, three more per process that is not a
# kernel thread) and its fork, so the process count of the host is printed too.
# Usage (root): scripts/bench-enter.sh [N]   PINNS=path/to/pinns to choose a build
# (default: the static release build of packaging/build-static.sh if built, else
# the debug build). bench/density.sh measures the same, interleaved, with medians.
set -euo pipefail
n=${1:-200}
repo=$(dirname "$0")/..
pinns=${PINNS:-$repo/target/x86_64-unknown-linux-gnu/release/pinns}
[ -n "${PINNS:-}" ] || [ -x "$pinns" ] || pinns=$repo/target/debug/pinns
dir=$(mktemp -d /tmp/pinns-bench-enter.XXXXXX)
cleanup() {
  for m in "$dir"/pins/*ns/pod; do umount "$m" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

"$pinns" -d "$dir/pins" -f pod -n -i -u -s kernel.hostname=bench
ms_per_call() {
  local start end
  start=$(date +%s%N)
  for ((i = 0; i < n; i++)); do "$@" >/dev/null; done
  end=$(date +%s%N)
  awk -v ns=$((end - start)) -v n="$n" 'BEGIN { printf "%.3f", ns / n / 1e6 }'
}
echo "processes on the host: $(ps -e --no-headers | wc -l), calls: $n, pinns: $pinns"
printf '%-40s %8s ms/call\n' "nsenter --net --ipc --uts true" \
  "$(ms_per_call nsenter --net="$dir/pins/netns/pod" --ipc="$dir/pins/ipcns/pod" --uts="$dir/pins/utsns/pod" true)"
printf '%-40s %8s ms/call\n' "pinns enter pod -- true" \
  "$(ms_per_call "$pinns" enter -d "$dir/pins" pod -- true)"
printf '%-40s %8s ms/call\n' "pinns enter --cpus 0 pod -- true" \
  "$(ms_per_call "$pinns" enter -d "$dir/pins" pod --cpus 0 -- true)"
