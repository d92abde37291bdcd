#!/usr/bin/env bash
# A pod's whole life without a pause container: pin its namespaces with
# sysctls, run two real containers (runc) in the pins, look at it, tear it
# down, and prove nothing is left. Run as root from the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "run as root: the demo unshares, mounts and starts containers" >&2; exit 1; }
scripts/deps.sh

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

say "build pinns"
cargo build --quiet
PINNS=$PWD/target/debug/pinns

WORK=$(mktemp -d /run/pinns-demo.XXXXXX)
DIR=$WORK/ns
POD=demo-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
CONTAINERS=()
RT_TASK=

teardown() {
  [ -n "${RT_TASK:-}" ] && kill "$RT_TASK" 2>/dev/null || true
  for c in "${CONTAINERS[@]}"; do runc delete --force "$c" >/dev/null 2>&1 || true; done
  if "$PINNS" cleanup --help >/dev/null 2>&1; then
    "$PINNS" cleanup -d "$DIR" -f "$POD" >/dev/null 2>&1 || true
  fi
  # Whatever is still mounted under the demo directory (nothing, normally).
  findmnt -rn -o TARGET | grep "^$WORK" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$WORK"
}
trap teardown EXIT

say "1. pin the pod's namespaces, with sysctls applied inside them"
show "$PINNS" -d "$DIR" -f "$POD" --net --ipc --uts \
  -s net.ipv4.ip_forward=1 -s kernel.shm_rmid_forced=0 -s kernel.hostname="$POD"
echo "\$ findmnt -t nsfs | grep $WORK"; findmnt -rn -t nsfs -o TARGET,SOURCE | grep "^$WORK"
echo "host still has: net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward) hostname=$(hostname)"

bundle() { # name script -> a runc bundle joining the pod's pins
  local name=$1 script=$2 b=$WORK/$1
  mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/sys" "$b/rootfs/tmp" "$b/rootfs/usr"
  cp /bin/busybox "$b/rootfs/bin/"
  ln -s busybox "$b/rootfs/bin/sh"
  ln -s usr/lib "$b/rootfs/lib"; ln -s usr/lib64 "$b/rootfs/lib64"
  runc spec --bundle "$b"
  jq --arg s "$script" --arg net "$DIR/netns/$POD" --arg ipc "$DIR/ipcns/$POD" --arg uts "$DIR/utsns/$POD" '
    .process.terminal = false | .process.args = ["/bin/busybox", "sh", "-c", $s] | del(.hostname)
    | .linux.namespaces = [{type: "pid"}, {type: "mount"},
        {type: "network", path: $net}, {type: "ipc", path: $ipc}, {type: "uts", path: $uts}]
    | .mounts += [{destination: "/usr", type: "bind", source: "/usr", options: ["rbind", "ro"]}]
  ' "$b/config.json" > "$b/config.tmp" && mv "$b/config.tmp" "$b/config.json"
}

say "2. start an app container in the pins: it creates a SysV shared memory segment"
bundle app '/usr/bin/ipcmk -M 65536 >/dev/null && exec busybox sleep 600'
CONTAINERS+=("$POD-app")
echo "\$ runc run --detach --bundle $WORK/app $POD-app"
runc run --detach --bundle "$WORK/app" "$POD-app" </dev/null >/dev/null
sleep 0.5

say "3. a sidecar container of the same pod sees what the pod shares"
bundle sidecar 'echo "hostname: $(busybox hostname)"; echo "net.ipv4.ip_forward: $(cat /proc/sys/net/ipv4/ip_forward)"; echo "shm segments: $(tail -n +2 /proc/sysvipc/shm | wc -l)"; echo "net ns: $(readlink /proc/self/ns/net)"'
CONTAINERS+=("$POD-sidecar")
show runc run --bundle "$WORK/sidecar" "$POD-sidecar" </dev/null
echo "pinned net ns: net:[$(stat -L -c %i "$DIR/netns/$POD")]"

if "$PINNS" list --help >/dev/null 2>&1; then
  say "4. list what is pinned and who lives inside"
  show "$PINNS" list -d "$DIR"
  show "$PINNS" inspect -d "$DIR" "$POD"
fi

if "$PINNS" enter --help >/dev/null 2>&1; then
  say "5. enter the pod to debug it, on CPUs the pod does not use, SCHED_OTHER"
  last=$(( $(nproc) - 1 ))
  if [ "$last" -gt 0 ]; then
    echo "a latency-sensitive task of the pod: SCHED_FIFO, pinned to CPU $last"
    nsenter --net="$DIR/netns/$POD" --ipc="$DIR/ipcns/$POD" --uts="$DIR/utsns/$POD" \
      chrt -f 10 taskset -c "$last" sleep 600 &
    RT_TASK=$!
    sleep 0.2
  fi
  show "$PINNS" enter -d "$DIR" --verbose "$POD" -- sh -c \
    'echo "in $(hostname): $(grep Cpus_allowed_list /proc/self/status), $(chrt -p $$ | head -1)"; ip -brief link'
  [ -n "${RT_TASK:-}" ] && kill "$RT_TASK" && wait "$RT_TASK" 2>/dev/null || true
fi

say "6. tear down: stop the containers, remove the pins"
for c in "${CONTAINERS[@]}"; do runc delete --force "$c"; done
CONTAINERS=()
if "$PINNS" cleanup --help >/dev/null 2>&1; then
  show "$PINNS" cleanup -d "$DIR" -f "$POD"
else
  for t in net ipc uts; do umount -l "$DIR/${t}ns/$POD" && rm "$DIR/${t}ns/$POD"; done
fi

say "7. verify nothing remains"
left=$(findmnt -rn -t nsfs -o TARGET | grep -c "^$WORK" || true)
files=$(find "$DIR" -type f | wc -l)
echo "nsfs mounts left: $left, pin files left: $files, runc containers left: $(runc list -q | grep -c "^$POD" || true)"
[ "$left" -eq 0 ] && [ "$files" -eq 0 ] || { echo "LEAK" >&2; exit 1; }
echo "the pod is gone without a trace"
