#!/usr/bin/env python3
"""Measures for bench/density.sh (which owns the work directory and cleans
up): pin latency of pinning helpers with 0, 1,000, 5,000 live pods on the
node, with and without sysctls, and the caller's teardown as CRI-O does it
(umount2(MNT_DETACH) + unlink of each pin); `pinns enter` against nsenter
and `pinns list` against findmnt at each density. Every variant runs as its
own process (posix_spawn + wait4, which also gives its peak RSS), variants
interleaved with the order rotating, medians reported."""

import argparse
import csv
import ctypes
import os
import shutil
import statistics
import subprocess
import sys
import time

MNT_DETACH = 2
KINDS = ("net", "ipc", "uts")
SYSCTLS = ["net.ipv4.ip_forward=1", "kernel.shm_rmid_forced=1"]
# Interleaved with the pins at each level: a static program's spawn and
# exit (the floor with COUNT 0: four mkdir that find their directory), which
# nothing on the node's density should slow. The levels run one after
# another; this says how fast the machine was meanwhile.
CONTROL = "spawn"
libc = ctypes.CDLL(None, use_errno=True)


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--workdir", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--pinns", required=True)
    p.add_argument("--c-helper", default="")
    p.add_argument("--also", action="append", default=[], metavar="NAME=PATH",
                   help="another pinning helper taking CRI-O's arguments (a build variant)")
    p.add_argument("--floor", required=True)
    p.add_argument("--peak-rss", required=True)
    p.add_argument("--levels", default="0,1000,5000")
    p.add_argument("--samples", type=int, default=60)
    p.add_argument("--tool-samples", type=int, default=40)
    p.add_argument("--list-samples", type=int, default=5)
    p.add_argument("--settle", type=float, default=2.0)
    p.add_argument("--profile", action="store_true", help="strace and callgrind of one pin each")
    return p.parse_args()


class Runner:
    """Spawns commands with stdout discarded and stderr kept in a log."""

    def __init__(self, workdir):
        self.null = os.open("/dev/null", os.O_WRONLY)
        self.log_path = os.path.join(workdir, "stderr.log")
        self.log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def run(self, argv):
        """Returns (ms, ru_maxrss); exits on a failing command. The RSS is
        that of a child of Python (see peak-rss.c): use `peak` for memory."""
        actions = [(os.POSIX_SPAWN_DUP2, self.null, 1), (os.POSIX_SPAWN_DUP2, self.log, 2)]
        t0 = time.perf_counter_ns()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        t1 = time.perf_counter_ns()
        if os.waitstatus_to_exitcode(status) != 0:
            with open(self.log_path) as f:
                tail = f.read()[-2000:]
            sys.exit(f"density.py: {' '.join(argv)} failed ({status}):\n{tail}")
        return (t1 - t0) / 1e6, usage.ru_maxrss


    def peak(self, peak_rss, argv):
        """Peak RSS KiB of one run, measured by the small static launcher."""
        r = subprocess.run([peak_rss, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit(f"density.py: {' '.join(argv)} failed:\n{r.stderr[-2000:]}")
        return int(r.stderr.split()[-1])


def teardown(pins, name):
    """What CRI-O does after a pod: lazy unmount and unlink of each pin."""
    for kind in KINDS:
        path = os.path.join(pins, f"{kind}ns", name).encode()
        if libc.umount2(path, MNT_DETACH) != 0:
            sys.exit(f"umount2 {path}: {os.strerror(ctypes.get_errno())}")
        os.unlink(path)


def argv_sysctls(argv):
    return [a for a in argv if a in SYSCTLS]


def pin_argv(variant, path, pins, name, sysctls):
    if variant == "floor":
        return [path, pins, name, "1", *sysctls]
    # CRI-O's own argument order (see the captured fixtures).
    args = [path, "-d", pins, "-f", name]
    for s in sysctls:
        args += ["-s", s]
    return args + ["--ipc", "--net", "--uts"]


def median(xs):
    xs = [x for x in xs if x != ""]
    return statistics.median(xs) if xs else float("nan")


def measure_pins(runner, variants, pins, level, samples, rows, peak_rss):
    """Interleaved pin + teardown of every variant, with and without sysctls;
    peak RSS from separate runs (every third sample) under peak-rss."""
    combos = [(v, s) for v in variants for s in (True, False)] + [(CONTROL, False)]
    for i in range(samples + 2):  # the first two rounds warm caches, not counted
        shift = i % len(combos)
        for variant, with_sysctls in combos[shift:] + combos[:shift]:
            if variant == CONTROL:
                ms, _ = runner.run([variants["floor"], pins, CONTROL, "0"])
                if i >= 2:
                    rows.append([level, variant, 0, round(ms, 4), round(ms, 4), ""])
                continue
            name = f"s{level}-{variant}-{int(with_sysctls)}-{i}"
            argv = pin_argv(variant, variants[variant], pins, name, SYSCTLS if with_sysctls else [])
            t0 = time.perf_counter_ns()
            ms, _ = runner.run(argv)
            teardown(pins, name)
            total = (time.perf_counter_ns() - t0) / 1e6
            rss = ""
            if i % 3 == 2:
                rss = runner.peak(peak_rss, pin_argv(variant, variants[variant], pins, name, argv_sysctls(argv)))
                teardown(pins, name)
            if i >= 2:
                rows.append([level, variant, int(with_sysctls), round(ms, 4), round(total, 4), rss])


def measure_tools(runner, cases, samples, level, rows, peak_rss):
    """Interleaved runs of whole commands (enter, nsenter, list, findmnt);
    peak RSS of every other run under peak-rss."""
    for i in range(samples + 1):
        shift = i % len(cases)
        for label, argv in cases[shift:] + cases[:shift]:
            ms, _ = runner.run(argv)
            rss = runner.peak(peak_rss, argv) if i % 2 == 1 else ""
            if i >= 1:
                rows.append([level, label, round(ms, 4), rss])


def load_1min():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def measure_elsewhere(runner, variants, workdir, level, samples, peak_rss):
    """Pins into an empty DIR while the `level` live pods sit in another:
    whether a helper's cost follows the namespaces on the node or only the
    pins in its own DIR."""
    other = os.path.join(workdir, "elsewhere")
    os.makedirs(other, exist_ok=True)
    rows = []
    measure_pins(runner, variants, other, level, samples, rows, peak_rss)
    return rows


def fill(runner, floor, pins, have, want):
    """Grows the node to `want` live pods (net+ipc+uts, sysctls written)."""
    if want > have:
        t0 = time.perf_counter()
        runner.run([floor, pins, f"fill{want}", str(want - have), *SYSCTLS])
        print(f"filled {have} -> {want} live pods in {time.perf_counter() - t0:.1f} s", file=sys.stderr)


def profile(variants, pins, out):
    """Syscalls (strace -c -f) and user-space instructions (callgrind) of one
    pin with sysctls on the empty node."""
    rows = []
    for variant, path in variants.items():
        row = [variant, "", ""]
        if shutil.which("strace"):
            name = f"strace-{variant}"
            trace = os.path.join(out, f"density-strace.{variant}.txt")
            subprocess.run(["strace", "-f", "-c", "-o", trace, *pin_argv(variant, path, pins, name, SYSCTLS)], check=True)
            teardown(pins, name)
            for line in open(trace):
                f = line.split()
                if f and f[-1] == "total":
                    row[1] = f[3]  # % time, seconds, usecs/call, calls, [errors,] total
        if shutil.which("valgrind"):
            name = f"cg-{variant}"
            cg = os.path.join(pins, "..", "callgrind.out")
            r = subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}", *pin_argv(variant, path, pins, name, SYSCTLS)],
                capture_output=True, text=True, check=True)
            teardown(pins, name)
            for line in r.stderr.splitlines():
                if "Collected" in line:
                    row[2] = line.split()[-1]
        rows.append(row)
    with open(os.path.join(out, "density-onepin.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "syscalls", "instructions"])
        w.writerows(rows)
    return rows


def verdict(value, limit):
    if value != value:
        return "not measured"
    if value <= limit:
        return "met"
    return f"NOT met: {value / limit - 1:.0%} over"


def report(variants, levels, pin_rows, tool_rows, onepin, else_rows, loads):
    lines = []
    p = lambda s="": lines.append(s)  # noqa: E731
    med = {}
    for level in levels:
        for v in variants:
            for s in (1, 0):
                sel = [r for r in pin_rows if r[0] == level and r[1] == v and r[2] == s]
                med[level, v, s] = (median([r[3] for r in sel]), median([r[4] for r in sel]),
                                    median([r[5] for r in sel]), len(sel))
    tmed = {}
    for r in tool_rows:
        tmed.setdefault((r[0], r[1]), []).append(r)
    tool = {k: (median([x[2] for x in rs]), median([x[3] for x in rs]), len(rs)) for k, rs in tmed.items()}

    p("Pin of net+ipc+uts (CRI-O's argv), then the caller's teardown (umount2 MNT_DETACH + unlink); medians, ms")
    head = f"{'live pods':>9} {'variant':<7} {'pin+sysctls':>11} {'+teardown':>10} {'pin, none':>9} {'+teardown':>10} {'RSS KiB':>8} {'x C':>6} {'x own@0':>8}  n"
    p(head)
    for level in levels:
        for v in variants:
            pin_s, tot_s, rss, n = med[level, v, 1]
            pin_n, tot_n, _, _ = med[level, v, 0]
            c = med.get((level, "c", 1), (float("nan"),) * 4)[1]
            own0 = med[levels[0], v, 1][1]
            p(f"{level:>9} {v:<7} {pin_s:>11.3f} {tot_s:>10.3f} {pin_n:>9.3f} {tot_n:>10.3f} {rss:>8.0f} "
              f"{tot_s / c:>6.2f} {tot_s / own0:>8.2f}  {n}")
    control = {lv: median([r[4] for r in pin_rows if r[0] == lv and r[1] == CONTROL]) for lv in levels}
    p(f"Control, a static program's spawn + exit interleaved with the pins, ms: "
      + ", ".join(f"{lv}: {control[lv]:.3f}" for lv in levels))
    p("Load average (1 min) when each level's pins started / ended (the levels run one after")
    p("another, so a ratio to the empty node also compares two moments of a shared machine):")
    p("  " + ", ".join(f"{k}: {a:.2f} / {b:.2f}" for k, (a, b) in loads.items()))
    top = levels[-1]
    p()
    p(f"Pins into an empty DIR while the {top} live pods are pinned in another; medians, ms")
    p(f"{'variant':<7} {'pin+sysctls':>11} {'+teardown':>10} {'pin, none':>9} {'+teardown':>10} {'x own@0':>8}  n")
    for v in variants:
        sel = [[r for r in else_rows if r[1] == v and r[2] == s] for s in (1, 0)]
        (pin_s, tot_s), (pin_n, tot_n) = [(median([r[3] for r in rs]), median([r[4] for r in rs])) for rs in sel]
        med["elsewhere", v, 1] = (pin_s, tot_s)
        p(f"{v:<7} {pin_s:>11.3f} {tot_s:>10.3f} {pin_n:>9.3f} {tot_n:>10.3f} "
          f"{tot_s / med[levels[0], v, 1][1]:>8.2f}  {len(sel[0])}")
    p()
    p("Whole commands at each density; medians")
    p(f"{'live pods':>9} {'command':<18} {'ms':>9} {'RSS KiB':>8} {'ratio':>7}  n")
    for level in levels:
        for label, ref in (("enter", "nsenter"), ("nsenter", None), ("list", "findmnt -rn"),
                           ("findmnt -rn", None), ("findmnt", None)):
            if (level, label) not in tool:
                continue
            ms, rss, n = tool[level, label]
            ratio = f"{ms / tool[level, ref][0]:.2f}" if ref and (level, ref) in tool else ""
            p(f"{level:>9} {label:<18} {ms:>9.3f} {rss:>8.0f} {ratio:>7}  {n}")
    if onepin:
        p()
        p("One pin with sysctls, empty node: syscalls (strace -c -f), user-space instructions (callgrind)")
        for v, sc, ir in onepin:
            p(f"  {v:<7} {sc:>5} syscalls  {ir:>9} instructions")
    p()
    p("Targets (ratios of medians from this run)")
    top, zero = levels[-1], levels[0]
    ours = med[zero, "pinns", 1]
    if "c" in variants:
        c0 = med[zero, "c", 1]
        p(f"  empty node, pin+teardown ours/C <= 1.0: {ours[1] / c0[1]:.3f} ({verdict(ours[1] / c0[1], 1.0)})")
        p(f"  empty node, peak RSS ours/C <= 1.2: {ours[2] / c0[2]:.2f} ({verdict(ours[2] / c0[2], 1.2)})")
        ct = med[top, "c", 1]
        r = med[top, "pinns", 1][1] / ct[1]
        p(f"  {top} live pods, pin+teardown ours/C <= 0.15: {r:.2f} ({verdict(r, 0.15)})")
    r = med[top, "pinns", 1][1] / ours[1]
    p(f"  {top} live pods, ours / ours on the empty node <= 1.3: {r:.2f} ({verdict(r, 1.3)})")
    r = med["elsewhere", "pinns", 1][1] / ours[1]
    p(f"  the same, those pods pinned in another DIR: {r:.2f} ({verdict(r, 1.3)})")
    drift = control[top] / control[zero]
    r = med[top, "pinns", 1][1] / ours[1] / drift
    p(f"  the same over the control's {drift:.2f}x between the two levels (not the issue's measure): {r:.2f}")
    for level in levels:
        if (level, "enter") in tool and (level, "nsenter") in tool:
            r = tool[level, "enter"][0] / tool[level, "nsenter"][0]
            p(f"  {level} live pods, enter/nsenter <= 1.3: {r:.2f} ({verdict(r, 1.3)})")
        if (level, "list") in tool and (level, "findmnt -rn") in tool:
            r = tool[level, "list"][0] / tool[level, "findmnt -rn"][0]
            if level == top:
                p(f"  {level} live pods, list/findmnt -rn -t nsfs <= 1.0: {r:.2f} ({verdict(r, 1.0)})")
            else:
                p(f"  {level} live pods, list/findmnt -rn -t nsfs: {r:.2f} (the target is at {top})")
    return "\n".join(lines)


def main():
    a = parse_args()
    token_file = os.path.join(a.workdir, ".pinns-bench-owner")
    if not os.path.exists(token_file) or open(token_file).read().strip() != a.token:
        sys.exit(f"density.py: refusing to run: {a.workdir} does not hold our token")
    os.makedirs(a.out, exist_ok=True)
    pins = os.path.join(a.workdir, "pins")
    variants = {"pinns": a.pinns}
    if a.c_helper:
        variants["c"] = a.c_helper
    for extra in a.also:
        name, path = extra.split("=", 1)
        variants[name] = path
    variants["floor"] = a.floor
    levels = [int(x) for x in a.levels.split(",")]
    runner = Runner(a.workdir)

    # The pod `enter` joins: pinned once, kept throughout (list counts it too).
    runner.run([a.floor, pins, "target", "1", *SYSCTLS])
    onepin = profile(variants, pins, a.out) if a.profile else []
    pin_rows, tool_rows, have, loads = [], [], 0, {}
    for level in levels:
        fill(runner, a.floor, pins, have, level)
        have = max(have, level)
        time.sleep(a.settle)
        start = load_1min()
        measure_pins(runner, variants, pins, level, a.samples, pin_rows, a.peak_rss)
        loads[level] = (start, load_1min())
        ns = [f"--{k}={pins}/{k}ns/target" for k in KINDS]
        true = shutil.which("true")
        cases = [("enter", [a.pinns, "enter", "-d", pins, "target", "--", true]),
                 ("nsenter", [shutil.which("nsenter"), *ns, true])]
        measure_tools(runner, cases, a.tool_samples, level, tool_rows, a.peak_rss)
        findmnt = shutil.which("findmnt")
        cases = [("list", [a.pinns, "list", "-d", pins]),
                 ("findmnt -rn", [findmnt, "-rn", "-t", "nsfs"]),
                 ("findmnt", [findmnt, "-t", "nsfs"])]
        measure_tools(runner, cases, a.list_samples, level, tool_rows, a.peak_rss)
    start = load_1min()
    else_rows = measure_elsewhere(runner, variants, a.workdir, levels[-1], a.samples, a.peak_rss)
    loads[f"{levels[-1]} elsewhere"] = (start, load_1min())

    with open(os.path.join(a.out, "density-samples.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["live_pods", "variant", "sysctls", "pin_ms", "pin_teardown_ms", "rss_kb"])
        w.writerows(pin_rows)
    with open(os.path.join(a.out, "density-commands.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["live_pods", "command", "ms", "rss_kb"])
        w.writerows(tool_rows)
    with open(os.path.join(a.out, "density-elsewhere.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["live_pods_in_another_dir", "variant", "sysctls", "pin_ms", "pin_teardown_ms", "rss_kb"])
        w.writerows(else_rows)
    print(report(variants, levels, pin_rows, tool_rows, onepin, else_rows, loads))


if __name__ == "__main__":
    main()
