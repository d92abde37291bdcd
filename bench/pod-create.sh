#!/usr/bin/env bash
# Pod-create benchmark: pods with pinned namespaces (pinns) against pods with a
# pause container (runc + catatonit), plus a sweep of the pin directory size.
# See bench/README.md. Run as root: ./bench/pod-create.sh [--quick] [options]
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/pod-create.sh [options]
  --quick            smoke run: 5 pods x 1 round, sweep sizes 0,20 with 3 samples,
                     no waiting for an idle CPU between measurements
  -n N               pods per round (default 100)
  -r R               rounds per mode (default 3)
  --modes LIST       comma list of pins,pause,pod-pins,pod-pause (default: all four)
  --sizes LIST       sweep sizes, pods already pinned (default 0,100,1000,5000)
  --samples S        pins timed at each sweep size (default 20)
  --sweep LIST       sweep variants: host,new,shared-peer,shared-peer-private
                     (default: all; "none" to skip the sweep)
  --pinns PATH       pinns binary (default: build one, see --build)
  --build KIND       static (default: glibc linked in, +crt-static) or dynamic
  --out DIR          results directory (default: bench/results)
  --tmp DIR          parent of the private work directory (default: /run)
  --no-unshare       skip the util-linux unshare anchor mode
  --no-chart         do not draw the PNG
environment: PINNS_OTHER=/path/to/other/pinns adds mode other-pinns;
             CRI_ENDPOINT=unix:///run/crio/crio.sock adds mode crictl;
             PINNS_TEARDOWN=cli uses `pinns cleanup -d DIR -f NAME` for teardown
             (default: inproc, umount2+unlink in the caller, as CRI-O does and
             as the C helper is torn down; auto picks cli when it exists).
EOF
}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
N=100 R=3 SIZES=0,100,1000,5000 SAMPLES=20
MODES=pins,pause,pod-pins,pod-pause
SWEEP=host,new,shared-peer,shared-peer-private
SETTLE=1 PINNS="" BUILD=static OUT="$HERE/results" TMP_PARENT=/run UNSHARE=1 CHART=1
PYTHON=${PYTHON:-/usr/bin/python3}
COMMAND="bench/pod-create.sh $*"

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) N=5 R=1 SIZES=0,20 SAMPLES=3 SETTLE=0 ;;
        -n) N=$2; shift ;;
        -r) R=$2; shift ;;
        --modes) MODES=$2; shift ;;
        --sizes) SIZES=$2; shift ;;
        --samples) SAMPLES=$2; shift ;;
        --sweep) SWEEP=$2; shift ;;
        --pinns) PINNS=$2; shift ;;
        --build) BUILD=$2; shift ;;
        --out) OUT=$2; shift ;;
        --tmp) TMP_PARENT=$2; shift ;;
        --no-unshare) UNSHARE=0 ;;
        --no-chart) CHART=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "pod-create.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[ "$SWEEP" = none ] && SWEEP=""

die() { echo "pod-create.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (it mounts and runs containers)"
for tool in runc catatonit busybox unshare sysctl findmnt; do
    command -v "$tool" >/dev/null || die "missing $tool"
done
"$PYTHON" -c 'import sys' 2>/dev/null || die "missing $PYTHON (set PYTHON=...)"

if [ -z "$PINNS" ]; then
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
    if [ "$BUILD" = static ]; then
        # The shipped build: glibc linked in statically (no dynamic loader at
        # each start), packed relocations and the pin path laid out together
        # (see bench/RESULTS.md and packaging/build-static.sh).
        PINNS=$("$REPO/packaging/build-static.sh" | tail -n 1) || die "static release build failed"
    else
        (cd "$REPO" && cargo build --release --quiet) || die "cargo build --release failed"
        PINNS=$CARGO_TARGET_DIR/release/pinns
    fi
fi
[ -x "$PINNS" ] || die "$PINNS is not executable"
PINNS=$(realpath "$PINNS")
case "${PINNS_TEARDOWN:-inproc}" in
    cli) CLI_CLEANUP=1 ;;
    inproc) CLI_CLEANUP=0 ;;
    auto) if "$PINNS" cleanup --help >/dev/null 2>&1; then CLI_CLEANUP=1; else CLI_CLEANUP=0; fi ;;
    *) die "PINNS_TEARDOWN must be cli, inproc or auto" ;;
esac

# --- a work directory of our own, and cleanup even when interrupted ----------
WORK=$(mktemp -d "$TMP_PARENT/pinns-bench.XXXXXX")
TOKEN=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
PREFIX="pinns-bench-${TOKEN:0:8}-"
echo "$TOKEN" >"$WORK/.pinns-bench-owner"
PY_PID=""

mounts_under() {
    # Mount points at or below $1, deepest first (mountinfo field 5).
    awk -v root="$1" '$5 == root || index($5, root "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e +o pipefail # best effort from here: every step must get its turn
    if [ -n "$PY_PID" ] && kill -0 "$PY_PID" 2>/dev/null; then
        kill "$PY_PID" 2>/dev/null || true
        wait "$PY_PID" 2>/dev/null || true
    fi
    # A runc call the helper started may still be creating a container: let
    # it finish (they carry our unique prefix), then delete what exists.
    for _ in $(seq 100); do
        pgrep -f -- "$PREFIX" >/dev/null || break
        sleep 0.1
    done
    runc list -q 2>/dev/null | grep "^$PREFIX" | while read -r id; do
        runc delete --force "$id" >/dev/null 2>&1 || true
    done
    # WORK is a tmpfs of its own: one lazy unmount takes every pin with it.
    for m in $(mounts_under "$WORK"); do
        umount -l "$m" 2>/dev/null || true
    done
    # Only ever remove the directory this run created.
    if [ -f "$WORK/.pinns-bench-owner" ] && [ "$(cat "$WORK/.pinns-bench-owner")" = "$TOKEN" ]; then
        rm -rf "$WORK"
    fi
    left=$(mounts_under "$WORK" | wc -l)
    [ "$left" = 0 ] || echo "pod-create.sh: warning: $left mounts left under $WORK" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mount -t tmpfs -o mode=0700 pinns-bench "$WORK"
echo "$TOKEN" >"$WORK/.pinns-bench-owner"

# --- bundles: pause (catatonit -P) and app (busybox sleep), one rootfs each --
make_bundle() { # dir, args (json array)
    local dir=$1 args=$2
    mkdir -p "$dir/rootfs"
    (cd "$dir" && runc spec)
    "$PYTHON" - "$dir/config.json" "$args" <<'EOF'
import json, sys
path, args = sys.argv[1], json.loads(sys.argv[2])
cfg = json.load(open(path))
cfg["process"]["terminal"] = False
cfg["process"]["args"] = args
cfg["root"]["readonly"] = True
cfg["root"]["path"] = path.rsplit("/", 1)[0] + "/rootfs"
json.dump(cfg, open(path, "w"))
EOF
}
make_bundle "$WORK/bundles/pause" '["/catatonit", "-P"]'
cp "$(command -v catatonit)" "$WORK/bundles/pause/rootfs/catatonit"
make_bundle "$WORK/bundles/app" '["/busybox", "sleep", "1000000"]'
cp "$(readlink -f "$(command -v busybox)")" "$WORK/bundles/app/rootfs/busybox"

# --- sweep variants where DIR sits on a shared mount with a peer ------------
# (on a systemd host / and /run are shared: every pin propagates to peers)
for v in shared-peer shared-peer-private; do
    case ",$SWEEP," in *",$v,"*) ;; *) continue ;; esac
    base=$WORK/sweep-$v
    mkdir -p "$base/shared" "$base/peer"
    mount -t tmpfs pinns-bench-shared "$base/shared"
    mount --make-shared "$base/shared"
    mount --bind "$base/shared" "$base/peer"
    mkdir -p "$base/shared/pins"
    if [ "$v" = shared-peer-private ]; then
        # What `ip netns` does for /run/netns: DIR becomes a mount of its own,
        # here a private one, so pins below it no longer propagate.
        mount --bind "$base/shared/pins" "$base/shared/pins"
        mount --make-private "$base/shared/pins"
    fi
done

mkdir -p "$OUT"
EXTRA=()
[ "$UNSHARE" = 1 ] && EXTRA+=(--unshare)
[ "$CLI_CLEANUP" = 1 ] && EXTRA+=(--cli-cleanup)
[ "$SETTLE" = 0 ] && EXTRA+=(--no-settle)

echo "pinns: $PINNS ($(stat -c %s "$PINNS") bytes)" >&2
echo "work dir: $WORK; $N pods x $R rounds; sweep ${SWEEP:-none} at $SIZES" >&2
"$PYTHON" "$HERE/podbench.py" \
    --workdir "$WORK" --token "$TOKEN" --pinns "$PINNS" \
    --pause-bundle "$WORK/bundles/pause" --app-bundle "$WORK/bundles/app" \
    --out "$OUT" --modes "$MODES" -n "$N" -r "$R" \
    --sizes "$SIZES" --samples "$SAMPLES" --sweep "$SWEEP" \
    --container-prefix "$PREFIX" "${EXTRA[@]}" >"$OUT/summary.txt" &
PY_PID=$! # (a pipe or process substitution here would make $! the wrong pid)
wait "$PY_PID"
PY_PID=""
cat "$OUT/summary.txt"

{
    echo
    echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
    echo "pinns binary: $(stat -c %s "$PINNS") bytes"
    echo "command: $COMMAND"
} | tee -a "$OUT/summary.txt"

if [ "$CHART" = 1 ]; then
    if "$PYTHON" -c 'import matplotlib' 2>/dev/null; then
        "$PYTHON" "$HERE/chart.py" "$OUT"
    else
        echo "note: matplotlib missing for $PYTHON; no chart (apt-get install python3-matplotlib)" >&2
    fi
fi
