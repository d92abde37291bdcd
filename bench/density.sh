#!/usr/bin/env bash
# Density benchmark: pin latency of pinns, CRI-O's C helper and a syscall
# floor with 0, 1,000 and 5,000 live pods (pins holding net+ipc+uts
# namespaces with sysctls written), with and without sysctls, torn down by
# the caller as CRI-O does; the same pins into an empty DIR beside the top
# level's live pods (a helper whose cost follows its own DIR, not the node's
# namespaces, is caught there); `pinns enter` against nsenter and `pinns
# list` against findmnt at each density. See bench/README.md. Run as root.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/density.sh [options]
  --quick          smoke run: densities 0,20, 3 samples, no profile, no settling
  --levels LIST    live pods at each step (default 0,1000,5000)
  --samples N      pins per variant and density, with and without sysctls (default 60)
  --pinns PATH     pinns binary (default: packaging/build-static.sh, the shipped build)
  --c-helper PATH  CRI-O's C pinns (default /opt/pinns-crio/crio-1.36-bundle/pinns-c; "none" to skip)
  --also NAME=PATH another helper taking CRI-O's arguments, measured beside (repeatable)
  --out DIR        results directory (default bench/results)
  --tmp DIR        parent of the private work directory (default /run)
EOF
}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
LEVELS=0,1000,5000 SAMPLES=60 TOOL_SAMPLES=40 LIST_SAMPLES=5 SETTLE=2 PROFILE=--profile
ALSO=() PINNS="" C_HELPER=/opt/pinns-crio/crio-1.36-bundle/pinns-c OUT="$HERE/results" TMP_PARENT=/run
PYTHON=${PYTHON:-/usr/bin/python3}
COMMAND="bench/density.sh $*"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) LEVELS=0,20 SAMPLES=3 TOOL_SAMPLES=3 LIST_SAMPLES=2 SETTLE=0 PROFILE="" ;;
        --levels) LEVELS=$2; shift ;;
        --samples) SAMPLES=$2; shift ;;
        --pinns) PINNS=$2; shift ;;
        --c-helper) C_HELPER=$2; shift ;;
        --also) ALSO+=(--also "$2"); shift ;;
        --out) OUT=$2; shift ;;
        --tmp) TMP_PARENT=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "density.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

die() { echo "density.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (it unshares and mounts)"
for tool in gcc nsenter findmnt; do command -v "$tool" >/dev/null || die "missing $tool"; done
if [ -z "$PINNS" ]; then
    PINNS=$("$REPO/packaging/build-static.sh" | tail -n 1) || die "static release build failed"
fi
PINNS=$(realpath "$PINNS")
case "$C_HELPER" in
    none) C_HELPER="" ;;
    *) [ -x "$C_HELPER" ] || { echo "density.sh: no C helper at $C_HELPER; measured without it" >&2; C_HELPER=""; } ;;
esac

# A work directory of our own on a tmpfs of its own: one lazy unmount takes
# every pin with it, and with the last reference the pods' namespaces go.
WORK=$(mktemp -d "$TMP_PARENT/pinns-density.XXXXXX")
TOKEN=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
PY_PID=""
mounts_under() {
    awk -v root="$1" '$5 == root || index($5, root "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e +o pipefail
    if [ -n "$PY_PID" ] && kill -0 "$PY_PID" 2>/dev/null; then
        kill "$PY_PID" 2>/dev/null
        wait "$PY_PID" 2>/dev/null
    fi
    umount -l "$WORK" 2>/dev/null
    if [ -z "$(mounts_under "$WORK")" ] && [ -z "$(ls -A "$WORK" 2>/dev/null)" ]; then
        rmdir "$WORK"
    else
        echo "density.sh: warning: $WORK not empty or still mounted; left in place" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mount -t tmpfs -o mode=0700 pinns-density "$WORK"
echo "$TOKEN" >"$WORK/.pinns-bench-owner"

# The floor and the RSS launcher are compiled here, the way CRI-O builds its helper.
gcc -static -O2 -Wall -Wextra -o "$WORK/floor" "$HERE/floor.c"
gcc -static -O2 -Wall -Wextra -o "$WORK/peak-rss" "$HERE/peak-rss.c"

mkdir -p "$OUT"
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo "pinns: $PINNS; C helper: ${C_HELPER:-none}; live pods: $LEVELS; $SAMPLES samples" >&2
"$PYTHON" "$HERE/density.py" --workdir "$WORK" --token "$TOKEN" --out "$OUT" \
    --pinns "$PINNS" --c-helper "$C_HELPER" --floor "$WORK/floor" --peak-rss "$WORK/peak-rss" --levels "$LEVELS" \
    --samples "$SAMPLES" --tool-samples "$TOOL_SAMPLES" --list-samples "$LIST_SAMPLES" \
    --settle "$SETTLE" $PROFILE "${ALSO[@]}" >"$OUT/density.txt" &
PY_PID=$!
wait "$PY_PID"
PY_PID=""
{
    echo
    echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
    echo "pinns: $(stat -c %s "$PINNS") bytes; load average before the run: $LOAD"
    echo "command: $COMMAND"
} >>"$OUT/density.txt"
cat "$OUT/density.txt"
if "$PYTHON" -c 'import matplotlib' 2>/dev/null; then
    "$PYTHON" "$HERE/chart.py" "$OUT"
else
    echo "note: matplotlib missing for $PYTHON; no chart (apt-get install python3-matplotlib)" >&2
fi
