#!/usr/bin/env python3
"""Measurement helper of bench/pod-create.sh: times pod creation and removal
with pins and with a pause container, sweeps the pin directory size, and
writes CSV files. The shell script owns the work directory, builds the
bundles and cleans up; this file only measures.

Every helper is run as its own process, as CRI-O runs pinns and the OCI
runtime; teardown of pins is done in this process (umount2 + unlink), as
CRI-O does it, unless `pinns cleanup -f NAME` exists (see `teardown`).
"""

import argparse
import csv
import ctypes
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time

SYSCTLS = ["net.ipv4.ip_forward=1", "kernel.shm_rmid_forced=1"]
PIN_KINDS = ["net", "ipc", "uts"]
MNT_DETACH = 2
UMOUNT_NOFOLLOW = 8

_libc = ctypes.CDLL(None, use_errno=True)
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


class BenchError(Exception):
    pass


# stderr goes to a file, not a pipe: a container started by `runc create`
# inherits it and would keep a pipe open for as long as it runs.
_stderr = tempfile.TemporaryFile()


def run(args, capture=False):
    """Runs one helper process; raises with its stderr when it fails."""
    _stderr.seek(0)
    _stderr.truncate()
    res = subprocess.run(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=_stderr,
    )
    if res.returncode != 0:
        _stderr.seek(0)
        err = _stderr.read().decode(errors="replace").strip()
        raise BenchError(f"{' '.join(args)}: exit {res.returncode}: {err}")
    return res.stdout.decode() if capture else ""


def timed(fn, *args):
    t0 = time.perf_counter_ns()
    fn(*args)
    return (time.perf_counter_ns() - t0) / 1e6


# --- the pin way -------------------------------------------------------------


class Pins:
    """Pins created by a pinning helper, torn down the way CRI-O does."""

    def __init__(self, helper, pin_dir, use_cli_cleanup):
        self.helper = helper
        self.dir = pin_dir
        self.use_cli_cleanup = use_cli_cleanup

    def path(self, kind, name):
        return os.path.join(self.dir, f"{kind}ns", name)

    def pin(self, name, host=False):
        ns = [f"--{k}=host" if host else f"--{k}" for k in PIN_KINDS]
        sysctls = [] if host else [a for s in SYSCTLS for a in ("-s", s)]
        run([self.helper, "-d", self.dir, "-f", name, *sysctls, *ns])

    def teardown(self, name):
        """The one place that removes a pod's pins (swap here for a new way)."""
        if self.use_cli_cleanup:
            run([self.helper, "cleanup", "-d", self.dir, "-f", name])
            return
        for kind in PIN_KINDS:
            detach_and_remove(self.path(kind, name))


def detach_and_remove(path):
    """CRI-O's teardown of one pin: umount(MNT_DETACH), then unlink."""
    if _libc.umount2(path.encode(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0:
        err = ctypes.get_errno()
        raise BenchError(f"umount2 {path}: {os.strerror(err)}")
    os.unlink(path)


class UnsharePins(Pins):
    """util-linux unshare with persistent namespaces: the anchor."""

    def pin(self, name, host=False):
        args = ["unshare"]
        for kind in PIN_KINDS:
            path = self.path(kind, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            # unshare needs the mount point to exist.
            open(path, "x").close()
            args.append(f"--{kind}={path}")
        run(args + ["sysctl", "-q", "-w", *SYSCTLS])

    def teardown(self, name):
        for kind in PIN_KINDS:
            detach_and_remove(self.path(kind, name))


# --- the container way -------------------------------------------------------


class Runc:
    def __init__(self, prefix, workdir):
        self.prefix = prefix
        self.workdir = workdir

    def start(self, cid, bundle):
        pidfile = os.path.join(self.workdir, f"{cid}.pid")
        # CRI-O (through conmon) also runs create, then start.
        run(["runc", "create", "-b", bundle, "--pid-file", pidfile, cid])
        run(["runc", "start", cid])
        with open(pidfile) as f:
            pid = int(f.read().strip())
        os.unlink(pidfile)
        return pid

    def stop_and_delete(self, cid, pid):
        """Kill, wait for the exit, delete: what CRI-O asks of the runtime.
        (`runc delete --force` alone polls and costs a flat ~100 ms more.)"""
        fd = os.pidfd_open(pid)
        try:
            run(["runc", "kill", cid, "KILL"])
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            if not poller.poll(10_000):
                raise BenchError(f"{cid}: pid {pid} still alive 10 s after SIGKILL")
        finally:
            os.close(fd)
        run(["runc", "delete", cid])

    def cid(self, mode, name):
        return f"{self.prefix}{mode}-{name}"


def write_joining_bundle(base_bundle, path, ns_paths):
    """A bundle whose container joins the given net/ipc/uts namespaces."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(base_bundle, "config.json")) as f:
        cfg = json.load(f)
    cfg["root"]["path"] = os.path.join(base_bundle, "rootfs")
    out = []
    for ns in cfg["linux"]["namespaces"]:
        key = {"network": "net"}.get(ns["type"], ns["type"])
        if key in ns_paths:
            ns = {"type": ns["type"], "path": ns_paths[key]}
        out.append(ns)
    cfg["linux"]["namespaces"] = out
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f)


def rss_kb(pid):
    """VmRSS of a process and all its descendants, in KiB."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except FileNotFoundError:
            pass
    return total


def mem_available_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


# --- modes --------------------------------------------------------------------


class Mode:
    """One way of making a pod: create() returns the pids the pod keeps alive."""

    def __init__(self, name, create, remove):
        self.name = name
        self.create = create
        self.remove = remove


def make_modes(args, runc):
    pins = Pins(args.pinns, os.path.join(args.workdir, "pins"), args.cli_cleanup)
    modes = {}

    def pins_create(name):
        pins.pin(name)
        return []

    modes["pins"] = Mode("pins", pins_create, lambda name, _: pins.teardown(name))

    def pause_create(name):
        return [runc.start(runc.cid("pause", name), args.pause_bundle)]

    modes["pause"] = Mode(
        "pause", pause_create, lambda name, pids: runc.stop_and_delete(runc.cid("pause", name), pids[0])
    )

    def pod_pins_create(name):
        pins.pin(name)
        bundle = os.path.join(args.workdir, "bundles", f"pp-{name}")
        write_joining_bundle(args.app_bundle, bundle, {k: pins.path(k, name) for k in PIN_KINDS})
        return [runc.start(runc.cid("podpins", name), bundle)]

    def pod_pins_remove(name, pids):
        runc.stop_and_delete(runc.cid("podpins", name), pids[0])
        pins.teardown(name)

    modes["pod-pins"] = Mode("pod-pins", pod_pins_create, pod_pins_remove)

    def pod_pause_create(name):
        holder = runc.start(runc.cid("podpause", name), args.pause_bundle)
        bundle = os.path.join(args.workdir, "bundles", f"pc-{name}")
        write_joining_bundle(args.app_bundle, bundle, {k: f"/proc/{holder}/ns/{k}" for k in PIN_KINDS})
        return [holder, runc.start(runc.cid("podpauseapp", name), bundle)]

    def pod_pause_remove(name, pids):
        runc.stop_and_delete(runc.cid("podpauseapp", name), pids[1])
        runc.stop_and_delete(runc.cid("podpause", name), pids[0])

    modes["pod-pause"] = Mode("pod-pause", pod_pause_create, pod_pause_remove)

    if args.other:
        other = Pins(args.other, os.path.join(args.workdir, "other"), False)
        modes["other-pinns"] = Mode(
            "other-pinns", lambda n: (other.pin(n), [])[1], lambda n, _: other.teardown(n)
        )
    if args.unshare:
        anchor = UnsharePins("unshare", os.path.join(args.workdir, "unshare"), False)
        modes["unshare"] = Mode(
            "unshare", lambda n: (anchor.pin(n), [])[1], lambda n, _: anchor.teardown(n)
        )
    if args.cri_endpoint:
        modes["crictl"] = crictl_mode(args)
    return modes


def crictl_mode(args):
    """crictl runp/stopp/rmp against a running CRI runtime (CRI-O)."""
    base = ["crictl", "--runtime-endpoint", args.cri_endpoint]
    ids = {}

    def create(name):
        cfg = os.path.join(args.workdir, f"runp-{name}.json")
        with open(cfg, "w") as f:
            json.dump(
                {
                    "metadata": {"name": f"pinns-bench-{name}", "namespace": "default", "uid": name},
                    "linux": {"sysctls": dict(s.split("=", 1) for s in SYSCTLS)},
                },
                f,
            )
        ids[name] = run(base + ["runp", cfg], capture=True).strip()
        return []

    def remove(name, _):
        run(base + ["stopp", ids[name]])
        run(base + ["rmp", ids[name]])

    return Mode("crictl", create, remove)


def percentile(values, q):
    """Nearest-rank percentile."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def bench_mode(mode, n, rounds, samples_out, log):
    create_ms, remove_ms, walls, rss, kernel = [], [], [], [], []
    for r in range(rounds):
        names = [f"r{r}p{i}" for i in range(n)]
        settle(log, f"{mode.name} before round {r + 1}")
        alive = {}
        avail0 = mem_available_kb()
        t0 = time.perf_counter_ns()
        try:
            for name in names:
                t = time.perf_counter_ns()
                alive[name] = mode.create(name)
                create_ms.append((time.perf_counter_ns() - t) / 1e6)
            t_created = time.perf_counter_ns()
            # Idle pods: what stays resident per pod.
            rss.append(sum(rss_kb(p) for pids in alive.values() for p in pids) / n)
            kernel.append((avail0 - mem_available_kb()) / n)
            t_idle = time.perf_counter_ns()
        finally:
            for name in list(alive):
                t = time.perf_counter_ns()
                mode.remove(name, alive.pop(name))
                remove_ms.append((time.perf_counter_ns() - t) / 1e6)
        t1 = time.perf_counter_ns()
        walls.append(((t_created - t0) + (t1 - t_idle)) / 1e9)
        log(f"  {mode.name} round {r + 1}/{rounds}: {walls[-1]:.2f} s")
    for phase, vals in (("create", create_ms), ("remove", remove_ms)):
        samples_out.extend((mode.name, phase, f"{v:.4f}") for v in vals)
    return {
        "mode": mode.name,
        "pods": n,
        "rounds": rounds,
        "create_min_ms": min(create_ms),
        "create_median_ms": statistics.median(create_ms),
        "create_p95_ms": percentile(create_ms, 95),
        "remove_min_ms": min(remove_ms),
        "remove_median_ms": statistics.median(remove_ms),
        "remove_p95_ms": percentile(remove_ms, 95),
        "wall_s_median": statistics.median(walls),
        "rss_kb_per_idle_pod": statistics.median(rss),
        "memavail_drop_kb_per_pod": statistics.median(kernel),
    }


# --- sweep --------------------------------------------------------------------


def has_subcommand(helper, sub):
    res = subprocess.run([helper, sub, "--help"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return res.returncode == 0


def no_runtime_flag(helper, sub):
    """`--no-runtime` where the helper has it: the bench runs no CRI runtime,
    and a sweep that cannot ask one removes nothing and fails."""
    res = subprocess.run([helper, sub, "--help"], capture_output=True, text=True)
    return ["--no-runtime"] if "--no-runtime" in res.stdout else []


def mount_count():
    with open("/proc/self/mountinfo") as f:
        return sum(1 for _ in f)


def cpu_busy_fraction(window_s):
    def sample():
        with open("/proc/stat") as f:
            vals = [int(v) for v in f.readline().split()[1:]]
        idle = vals[3] + vals[4]
        return sum(vals), idle

    total0, idle0 = sample()
    time.sleep(window_s)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


SETTLE = True


def settle(log, what, limit_s=180):
    """Waits for the machine to go quiet. Torn-down network namespaces are
    freed by a kernel worker after the unmount returns; thousands of them keep
    a CPU busy for seconds and would be billed to whatever runs next."""
    if not SETTLE:
        return
    t0 = time.monotonic()
    quiet = 0
    while quiet < 2 and time.monotonic() - t0 < limit_s:
        quiet = quiet + 1 if cpu_busy_fraction(0.5) < 0.15 else 0
    waited = time.monotonic() - t0
    if waited > 2:
        log(f"  ({what}: waited {waited:.1f} s for the machine to go quiet)")


def sweep(args, variant, pin_dir, fill_host, log):
    """Pin/teardown latency of S sample pods with K pods already pinned."""
    pins = Pins(args.pinns, pin_dir, args.cli_cleanup)
    # The anchor pins the same way next to DIR: what the kernel charges alone.
    anchor = UnsharePins("unshare", os.path.join(pin_dir, "anchor"), False) if args.unshare else None
    has_list = has_subcommand(args.pinns, "list")
    has_cleanup = has_subcommand(args.pinns, "cleanup")
    rows, filled = [], 0
    try:
        for size in args.sizes:
            t = time.perf_counter_ns()
            while filled < size:
                pins.pin(f"fill{filled}", host=fill_host)
                filled += 1
            fill_s = (time.perf_counter_ns() - t) / 1e9
            settle(log, f"{variant} after filling to {size}")
            pin_ms, down_ms, anchor_ms = [], [], []
            for i in range(args.samples):
                name = f"sample{size}-{i}"
                pin_ms.append(timed(pins.pin, name))
                down_ms.append(timed(pins.teardown, name))
                if anchor:
                    anchor_ms.append(timed(anchor.pin, name))
                    anchor.teardown(name)
            row = {
                "variant": variant,
                "existing_pods": size,
                "mounts_in_table": mount_count(),
                "samples": args.samples,
                "pin_median_ms": statistics.median(pin_ms),
                "pin_p95_ms": percentile(pin_ms, 95),
                "teardown_median_ms": statistics.median(down_ms),
                "teardown_p95_ms": percentile(down_ms, 95),
                "unshare_pin_median_ms": statistics.median(anchor_ms) if anchor_ms else "",
                "list_ms": "",
                "cleanup_orphans_ms": "",
                "fill_s": f"{fill_s:.2f}",
            }
            if has_list:
                row["list_ms"] = timed(run, [args.pinns, "list", "-d", pin_dir] + no_runtime_flag(args.pinns, "list"))
            if has_cleanup:
                # Nothing is orphaned: this times the scan alone.
                row["cleanup_orphans_ms"] = timed(
                    run, [args.pinns, "cleanup", "-d", pin_dir, "--orphans"] + no_runtime_flag(args.pinns, "cleanup")
                )
            rows.append(row)
            log(
                f"  {variant} {size:>5} pods ({row['mounts_in_table']} mounts): "
                f"pin {row['pin_median_ms']:.2f} ms, teardown {row['teardown_median_ms']:.2f} ms"
            )
    finally:
        t = time.perf_counter_ns()
        for i in range(filled):
            pins.teardown(f"fill{i}")
        log(f"  {variant}: removed {filled} pods in {(time.perf_counter_ns() - t) / 1e9:.1f} s")
    notes = []
    if not has_list:
        notes.append("pinns list not available: list timing skipped")
    if not has_cleanup:
        notes.append("pinns cleanup not available: cleanup --orphans timing skipped")
    return rows, notes


# --- output -------------------------------------------------------------------


def write_csv(path, rows, fields=None):
    fields = fields or list(rows[0].keys())
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for row in rows:
            w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()})


def print_summary(rows):
    base = next((r for r in rows if r["mode"] == "pins"), None)
    hdr = (
        f"{'mode':<12} {'create ms min/med/p95':>24} {'remove ms min/med/p95':>24} "
        f"{'wall s':>7} {'RSS/pod KiB':>11} {'create x':>8} {'remove x':>8} {'wall x':>7}"
    )
    print(hdr)
    for r in rows:
        def ratio(key):
            return f"{r[key] / base[key]:.1f}" if base and base[key] else "-"

        print(
            f"{r['mode']:<12} "
            f"{r['create_min_ms']:>7.2f}/{r['create_median_ms']:>7.2f}/{r['create_p95_ms']:>7.2f} "
            f"{r['remove_min_ms']:>7.2f}/{r['remove_median_ms']:>7.2f}/{r['remove_p95_ms']:>7.2f} "
            f"{r['wall_s_median']:>7.2f} {r['rss_kb_per_idle_pod']:>11.0f} "
            f"{ratio('create_median_ms'):>8} {ratio('remove_median_ms'):>8} {ratio('wall_s_median'):>7}"
        )
    print("(x = ratio of medians against mode 'pins', from this run)")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--workdir", required=True)
    p.add_argument("--token", required=True, help="must match WORKDIR/.pinns-bench-owner")
    p.add_argument("--pinns", required=True)
    p.add_argument("--pause-bundle", required=True)
    p.add_argument("--app-bundle", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--modes", default="pins,pause,pod-pins,pod-pause")
    p.add_argument("-n", type=int, default=100)
    p.add_argument("-r", type=int, default=3)
    p.add_argument("--sizes", default="0,100,1000,5000")
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--sweep", default="host,new,shared-peer,shared-peer-private")
    p.add_argument("--other", default=os.environ.get("PINNS_OTHER", ""))
    p.add_argument("--unshare", action="store_true")
    p.add_argument("--cri-endpoint", default=os.environ.get("CRI_ENDPOINT", ""))
    p.add_argument("--cli-cleanup", action="store_true")
    p.add_argument("--container-prefix", required=True)
    p.add_argument("--no-settle", action="store_true", help="do not wait for an idle CPU (smoke runs)")
    args = p.parse_args()
    global SETTLE
    SETTLE = not args.no_settle
    args.sizes = [int(s) for s in args.sizes.split(",") if s]

    owner = os.path.join(args.workdir, ".pinns-bench-owner")
    try:
        with open(owner) as f:
            ok = f.read().strip() == args.token
    except FileNotFoundError:
        ok = False
    if not ok:
        sys.exit(f"podbench: refusing to run in {args.workdir}: not created by this benchmark run")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    runc = Runc(args.container_prefix, args.workdir)
    modes = make_modes(args, runc)
    wanted = [m for m in args.modes.split(",") if m]
    for extra in ("other-pinns", "unshare", "crictl"):
        if extra in modes and extra not in wanted:
            wanted.append(extra)
    notes = []
    if not args.other:
        notes.append("PINNS_OTHER not set: no other pinning helper compared; the anchor is util-linux unshare")
    if not args.cri_endpoint:
        notes.append("CRI_ENDPOINT not set: crictl mode skipped")
    if args.cli_cleanup:
        notes.append("teardown: pinns cleanup -d DIR -f NAME")
    else:
        notes.append("teardown: in-process umount2(MNT_DETACH) + unlink of each pin, as CRI-O does")

    rows, samples = [], []
    for name in wanted:
        if name not in modes:
            sys.exit(f"podbench: unknown mode {name}")
        settle(log, f"before mode {name}")
        log(f"mode {name}: {args.n} pods x {args.r} rounds")
        rows.append(bench_mode(modes[name], args.n, args.r, samples, log))
    write_csv(os.path.join(args.out, "pod-create.csv"), rows)
    with open(os.path.join(args.out, "pod-create-samples.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mode", "phase", "ms"])
        w.writerows(samples)

    sweep_rows = []
    for variant in [v for v in args.sweep.split(",") if v]:
        pin_dir = os.path.join(args.workdir, f"sweep-{variant}", "pins")
        if variant.startswith("shared-peer"):
            # Prepared by the shell script: DIR sits on a shared mount with a peer.
            pin_dir = os.path.join(args.workdir, f"sweep-{variant}", "shared", "pins")
        log(f"sweep {variant}: sizes {args.sizes}, {args.samples} samples each")
        # Only `new` fills with namespaces of their own; the others pin the
        # host's namespaces, so that the mount table grows and nothing else.
        settle(log, f"before sweep {variant}")
        got, more = sweep(args, variant, pin_dir, variant != "new", log)
        sweep_rows += got
        notes += [m for m in more if m not in notes]
    if sweep_rows:
        write_csv(os.path.join(args.out, "pod-create-sweep.csv"), sweep_rows)

    print_summary(rows)
    if sweep_rows:
        print()
        print(
            f"{'sweep':<20} {'pods':>5} {'mounts':>6} {'pin med':>8} {'pin p95':>8} "
            f"{'down med':>8} {'down p95':>8} {'vs 0':>5} {'unshare':>8} {'vs 0':>5}"
        )
        first = {}
        for r in sweep_rows:
            f0 = first.setdefault(r["variant"], r)
            anchor = r["unshare_pin_median_ms"]
            anchor_cols = f"{anchor:>8.2f} {anchor / f0['unshare_pin_median_ms']:>5.2f}" if anchor else ""
            print(
                f"{r['variant']:<20} {r['existing_pods']:>5} {r['mounts_in_table']:>6} "
                f"{r['pin_median_ms']:>8.2f} {r['pin_p95_ms']:>8.2f} "
                f"{r['teardown_median_ms']:>8.2f} {r['teardown_p95_ms']:>8.2f} "
                f"{r['pin_median_ms'] / f0['pin_median_ms']:>5.2f} {anchor_cols}"
            )
    print()
    for n in notes:
        print(f"note: {n}")
    with open(os.path.join(args.out, "notes.txt"), "w") as f:
        f.write("\n".join(notes) + "\n")


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        sys.exit(f"podbench: {e}")
