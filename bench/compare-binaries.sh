#!/usr/bin/env bash
# Compares pinning helpers (build variants of pinns, or another pinns given
# as a path) on one pod's pin: net+ipc+uts with two sysctls, then teardown.
# Per binary: size, linkage, peak RSS, user-space instructions (callgrind,
# stable on a noisy machine), and pin / pin+teardown latency, runs interleaved
# so that drift of the machine hits every binary alike.
#   usage: bench/compare-binaries.sh [-k RUNS] BINARY...
set -euo pipefail
K=300
if [ "${1:-}" = -k ]; then K=$2; shift 2; fi
[ $# -ge 1 ] || { echo "usage: $0 [-k RUNS] BINARY..." >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0: must run as root" >&2; exit 1; }
PYTHON=${PYTHON:-/usr/bin/python3}

WORK=$(mktemp -d /run/pinns-compare.XXXXXX)
cleanup() {
    set +e
    awk -v root="$WORK" 'index($5, root) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r m; do umount -l "$m"; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mount -t tmpfs pinns-compare "$WORK"

ARGS=(-s net.ipv4.ip_forward=1 -s kernel.shm_rmid_forced=1 --net --ipc --uts)
teardown() { for k in net ipc uts; do umount -l "$1/${k}ns/$2"; rm -f "$1/${k}ns/$2"; done; }

printf '%-44s %9s %-8s %9s %12s\n' binary bytes linkage peak_KiB instructions
for b in "$@"; do
    d=$WORK/static; mkdir -p "$d"
    link=$(file -L "$b" | grep -q 'statically linked\|static-pie' && echo static || echo dynamic)
    rss=$(/usr/bin/time -f %M "$b" -d "$d" -f rss "${ARGS[@]}" 2>&1 >/dev/null | tail -1)
    teardown "$d" rss
    ir=$(valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$b" -d "$d" -f cg "${ARGS[@]}" 2>&1 |
        sed -n 's/.*Collected : *\([0-9]*\).*/\1/p')
    teardown "$d" cg
    printf '%-44s %9s %-8s %9s %12s\n' "$b" "$(stat -Lc %s "$b")" "$link" "$rss" "$ir"
done

echo
"$PYTHON" - "$WORK" "$K" "$@" <<'EOF'
import ctypes, os, statistics, subprocess, sys, time
work, k, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
libc = ctypes.CDLL(None, use_errno=True)
args = ["-s", "net.ipv4.ip_forward=1", "-s", "kernel.shm_rmid_forced=1", "--net", "--ipc", "--uts"]
pin, total = {b: [] for b in bins}, {b: [] for b in bins}
for i in range(k):
    for j, b in enumerate(bins):
        d = os.path.join(work, f"b{j}")
        t0 = time.perf_counter_ns()
        subprocess.run([b, "-d", d, "-f", f"p{i}", *args], check=True)
        t1 = time.perf_counter_ns()
        for kind in ("net", "ipc", "uts"):
            p = os.path.join(d, f"{kind}ns", f"p{i}").encode()
            if libc.umount2(p, 2) != 0:
                sys.exit(f"umount2 {p}: {os.strerror(ctypes.get_errno())}")
            os.unlink(p)
        t2 = time.perf_counter_ns()
        pin[b].append((t1 - t0) / 1e6)
        total[b].append((t2 - t0) / 1e6)
base = statistics.median(total[bins[0]])
print(f"{'binary':<44} {'pin med ms':>10} {'pin+down med':>12} {'p95':>7} {'vs first':>8}  ({k} runs each, interleaved)")
for b in bins:
    t = sorted(total[b])
    med = statistics.median(t)
    print(f"{b:<44} {statistics.median(pin[b]):>10.3f} {med:>12.3f} {t[int(0.95 * len(t)) - 1]:>7.3f} {med / base:>8.2f}")
EOF
