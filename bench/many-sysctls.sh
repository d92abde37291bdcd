#!/usr/bin/env bash
# Cost bounded by input: one pin call given N distinct `-s` keys (default
# 70,000), each binary side by side. Two calls per binary: the N keys then
# vm.swappiness (refused by the allowlist after parsing all of them), and
# the N keys alone (refused when the first is written: no such key). Neither
# changes anything. Prints wall seconds and peak RSS per call.
#   usage: bench/many-sysctls.sh [-n N] BINARY...
set -euo pipefail
N=70000
if [ "${1:-}" = -n ]; then N=$2; shift 2; fi
[ $# -ge 1 ] && [ "$N" -ge 1 ] || { echo "usage: $0 [-n N>=1] BINARY..." >&2; exit 2; }
PYTHON=${PYTHON:-/usr/bin/python3}
WORK=$(mktemp -d /tmp/pinns-many-sysctls.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
"$PYTHON" - "$N" "$WORK" "$@" <<'PY'
import os, resource, subprocess, sys, time
n, work, binaries = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
# 2N arguments need more than the default 2 MiB argv limit (a quarter of
# the stack limit): raise the stack limit the child inherits.
resource.setrlimit(resource.RLIMIT_STACK, (512 << 20, 512 << 20))
keys = []
for i in range(n):
    keys += ["-s", f"net.ipv4.conf.lo.x{i}=1"]
cases = [("N keys + vm.swappiness", keys + ["-s", "vm.swappiness=1"]), ("N keys", keys)]
print(f"{'binary':<44} {'case':<24} {'N':>7} {'wall_s':>8} {'peak_KiB':>9} exit")
for b in binaries:
    for name, extra in cases:
        argv = [b, "-d", f"{work}/pins", "-f", "many", "--net"] + extra
        t = time.perf_counter()
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        code = os.waitstatus_to_exitcode(status)
        print(f"{b:<44} {name:<24} {n:>7} {wall:>8.3f} {usage.ru_maxrss:>9} {code}")
PY
