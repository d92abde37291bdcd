#!/usr/bin/python3
"""Side-by-side pin + teardown latency of pinning helpers, interleaved.

usage: side_by_side.py K OUTDIR NAME=BINARY[:cli] ...

Per iteration every variant pins one pod (net+ipc+uts, two namespaced
sysctls) into its own DIR below a fresh mktemp directory under /run, then
tears it down: in-process umount2(MNT_DETACH) + unlink of each pin, as CRI-O
does, or with ':cli' `BINARY cleanup -d DIR -f NAME`. The order of the
variants rotates every iteration so that drift and order effects hit all
alike. 20 warm-up iterations are not recorded. Everything made is removed at
the end (and on error); a check then fails if any nsfs mount is left below
the work directory.
"""
import ctypes, csv, os, statistics, subprocess, sys, tempfile, time

libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH, UMOUNT_NOFOLLOW = 2, 8
ARGS = ["-s", "net.ipv4.ip_forward=1", "-s", "kernel.shm_rmid_forced=1", "--net", "--ipc", "--uts"]
KINDS = ("net", "ipc", "uts")
WARMUP = 20


def detach_unlink(path):
    if libc.umount2(path.encode(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0:
        raise OSError(ctypes.get_errno(), f"umount2 {path}")
    os.unlink(path)


def nsfs_mounts_under(root):
    with open("/proc/self/mountinfo") as f:
        rows = [l.split() for l in f]
    return [r[4] for r in rows if (r[4] == root or r[4].startswith(root + "/"))
            and r[r.index("-") + 1] == "nsfs"]


def pct(vals, q):
    s = sorted(vals)
    return s[max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))]


def main():
    k, outdir, specs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    if os.geteuid() != 0:
        sys.exit("must run as root")
    variants = []
    for s in specs:
        name, binary = s.split("=", 1)
        cli = binary.endswith(":cli")
        variants.append((name, binary[:-4] if cli else binary, cli))
    work = tempfile.mkdtemp(prefix="pinns-vsc.", dir="/run")
    os.makedirs(outdir, exist_ok=True)
    samples = {v[0]: {"pin": [], "down": [], "total": []} for v in variants}
    try:
        for i in range(-WARMUP, k):
            r = i % len(variants)
            for name, binary, cli in variants[r:] + variants[:r]:
                d = os.path.join(work, name)
                pod = f"p{i + WARMUP}"
                t0 = time.perf_counter_ns()
                subprocess.run([binary, "-d", d, "-f", pod, *ARGS], check=True)
                t1 = time.perf_counter_ns()
                if cli:
                    subprocess.run([binary, "cleanup", "-d", d, "-f", pod], check=True,
                                   stdout=subprocess.DEVNULL)
                else:
                    for kind in KINDS:
                        detach_unlink(os.path.join(d, f"{kind}ns", pod))
                t2 = time.perf_counter_ns()
                for kind in KINDS:
                    if os.path.lexists(os.path.join(d, f"{kind}ns", pod)):
                        raise RuntimeError(f"{name}: {kind} pin {pod} left after teardown")
                if i >= 0:
                    s = samples[name]
                    s["pin"].append((t1 - t0) / 1e6)
                    s["down"].append((t2 - t1) / 1e6)
                    s["total"].append((t2 - t0) / 1e6)
    finally:
        for m in sorted(nsfs_mounts_under(work), reverse=True):
            libc.umount2(m.encode(), MNT_DETACH)
        left = nsfs_mounts_under(work)
        subprocess.run(["rm", "-rf", "--one-file-system", work], check=False)
        if left:
            print(f"WARNING: nsfs mounts left under {work}: {left}", file=sys.stderr)
    with open(os.path.join(outdir, "samples.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "iteration", "pin_ms", "teardown_ms", "total_ms"])
        for name, s in samples.items():
            for j, (a, b, c) in enumerate(zip(s["pin"], s["down"], s["total"])):
                w.writerow([name, j, f"{a:.4f}", f"{b:.4f}", f"{c:.4f}"])
    base = variants[0][0]
    print(f"{k} iterations per variant, interleaved (rotating order), {WARMUP} warm-up not counted")
    print(f"{'variant':<22} {'phase':<9} {'min':>7} {'median':>7} {'p95':>7} {'mean':>7}  ms")
    for name, s in samples.items():
        for phase in ("pin", "down", "total"):
            v = s[phase]
            print(f"{name:<22} {phase:<9} {min(v):7.3f} {statistics.median(v):7.3f} "
                  f"{pct(v, 95):7.3f} {statistics.fmean(v):7.3f}")
    print()
    print(f"ratios of pin+teardown against each variant (median / mean):")
    for name, s in samples.items():
        row = " ".join(f"{n2}: {statistics.median(s['total']) / statistics.median(s2['total']):.3f}/"
                       f"{statistics.fmean(s['total']) / statistics.fmean(s2['total']):.3f}"
                       for n2, s2 in samples.items() if n2 != name)
        print(f"  {name:<20} vs {row}")


if __name__ == "__main__":
    main()
