#!/usr/bin/env bash
# One pin call per binary under each tool: peak RSS (/usr/bin/time -v, 5 runs),
# callgrind instruction count, strace -c -f, strace -f (full log).
# usage: one_pin.sh OUTDIR NAME=BINARY...
set -euo pipefail
OUT=$1; shift
mkdir -p "$OUT"
WORK=$(mktemp -d /run/pinns-vsc-one.XXXXXX)
ARGS=(-s net.ipv4.ip_forward=1 -s kernel.shm_rmid_forced=1 --net --ipc --uts)
cleanup() {
    set +e
    awk -v root="$WORK" 'index($5, root "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r m; do umount -l "$m"; done
    rm -rf --one-file-system "$WORK"
    left=$(grep -c " $WORK/" /proc/self/mountinfo)
    [ "$left" = 0 ] || echo "WARNING: $left mounts left under $WORK" >&2
}
trap cleanup EXIT
teardown() { # dir name
    for k in net ipc uts; do
        umount -l "$1/${k}ns/$2"
        rm "$1/${k}ns/$2"
    done
}
for spec in "$@"; do
    name=${spec%%=*} b=${spec#*=}
    d=$WORK/$name
    # first pin in a fresh DIR creates the <type>ns directories: do it once
    # so that every measured call below is a steady-state pin
    "$b" -d "$d" -f warm "${ARGS[@]}"; teardown "$d" warm
    for i in 1 2 3 4 5; do
        /usr/bin/time -v "$b" -d "$d" -f rss$i "${ARGS[@]}" 2>"$OUT/$name.time$i.txt"
        teardown "$d" rss$i
    done
    echo "$name peak RSS KiB: $(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT"/$name.time*.txt | tr '\n' ' ')"
    valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.callgrind.out" "$b" -d "$d" -f cg "${ARGS[@]}" \
        2>"$OUT/$name.callgrind.log"
    teardown "$d" cg
    echo "$name callgrind: $(sed -n 's/.*Collected : *//p' "$OUT/$name.callgrind.log")"
    strace -c -f -o "$OUT/$name.strace-c.txt" "$b" -d "$d" -f sc "${ARGS[@]}"
    teardown "$d" sc
    strace -f -o "$OUT/$name.strace.txt" "$b" -d "$d" -f st "${ARGS[@]}"
    teardown "$d" st
    echo "$name syscalls: $(grep -c . "$OUT/$name.strace.txt") lines; $(tail -1 "$OUT/$name.strace-c.txt")"
done
