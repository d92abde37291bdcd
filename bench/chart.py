#!/usr/bin/env python3
"""Draws bench/results/pod-create.png from the CSV files podbench.py wrote
(create/remove latency per mode, memory per idle pod, and the sweep) and
bench/results/density.png from those density.py wrote (pin + teardown
against live pods per helper; enter/nsenter and list/findmnt)."""

import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return (xs[n // 2] + xs[(n - 1) // 2]) / 2 if xs else float("nan")


def density(out):
    samples = read(os.path.join(out, "density-samples.csv"))
    commands = read(os.path.join(out, "density-commands.csv"))
    if not samples:
        return
    levels = sorted({int(r["live_pods"]) for r in samples})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), dpi=90)
    ax = axes[0]
    for n, variant in enumerate(dict.fromkeys(r["variant"] for r in samples)):
        for sysctls, style in (("1", "-"), ("0", ":")):
            ys = [median([float(r["pin_teardown_ms"]) for r in samples
                          if r["variant"] == variant and r["sysctls"] == sysctls and int(r["live_pods"]) == lv])
                  for lv in levels]
            label = f"{variant}{'' if sysctls == '1' else ', no sysctls'}"
            ax.plot(levels, ys, style, marker="o", color=f"C{n}", label=label)
    ax.set_xlabel("live pods on the node (net+ipc+uts, sysctls written)")
    ax.set_ylabel("median ms, pin + caller's teardown")
    ax.set_yscale("log")
    ax.set_title("One pod's pin against node density")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    ax = axes[1]
    for n, cmd in enumerate(dict.fromkeys(r["command"] for r in commands)):
        ys = [median([float(r["ms"]) for r in commands if r["command"] == cmd and int(r["live_pods"]) == lv])
              for lv in levels]
        ax.plot(levels, ys, "-" if cmd in ("enter", "list") else ":", marker="o", color=f"C{n}", label=cmd)
    ax.set_xlabel("live pods on the node (one pin each)")
    ax.set_ylabel("median ms per command (log scale)")
    ax.set_yscale("log")
    ax.set_title("enter vs nsenter, list vs findmnt -t nsfs")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    path = os.path.join(out, "density.png")
    fig.savefig(path)
    print(f"chart: {path}", file=sys.stderr)


def main():
    out = sys.argv[1]
    density(out)
    if not os.path.exists(os.path.join(out, "pod-create.csv")):
        return
    summary = read(os.path.join(out, "pod-create.csv"))
    samples = read(os.path.join(out, "pod-create-samples.csv"))
    sweep = read(os.path.join(out, "pod-create-sweep.csv"))
    modes = [r["mode"] for r in summary]

    panels = 3 if sweep else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.4), dpi=90)

    ax = axes[0]
    positions, data, colors, ticks = [], [], [], []
    for i, mode in enumerate(modes):
        for j, (phase, color) in enumerate((("create", "#4477aa"), ("remove", "#ee9944"))):
            vals = [float(s["ms"]) for s in samples if s["mode"] == mode and s["phase"] == phase]
            if vals:
                positions.append(i * 3 + j)
                data.append(vals)
                colors.append(color)
        ticks.append(i * 3 + 0.5)
    parts = ax.boxplot(data, positions=positions, widths=0.8, patch_artist=True, showfliers=False)
    for patch, color in zip(parts["boxes"], colors):
        patch.set_facecolor(color)
    ax.set_xticks(ticks)
    ax.set_xticklabels(modes, rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("ms per pod (log scale)")
    ax.set_title("Latency per pod: create (blue), remove (orange)")
    ax.grid(axis="y", which="both", alpha=0.3)

    ax = axes[1]
    rss = [float(r["rss_kb_per_idle_pod"]) for r in summary]
    bars = ax.bar(modes, rss, color="#66aa55")
    for bar, v in zip(bars, rss):
        ax.annotate(f"{v:.0f}", (bar.get_x() + bar.get_width() / 2, v), ha="center", va="bottom")
    ax.set_ylabel("KiB resident per idle pod")
    ax.set_title("RSS of processes an idle pod keeps\n(+ one conmon per container under CRI-O)")
    ax.tick_params(axis="x", rotation=30)
    for label in ax.get_xticklabels():
        label.set_ha("right")

    if sweep:
        ax = axes[2]
        for n, variant in enumerate(dict.fromkeys(r["variant"] for r in sweep)):
            rows = [r for r in sweep if r["variant"] == variant]
            xs = [max(1, int(r["existing_pods"])) for r in rows]
            color = f"C{n}"
            ax.plot(xs, [float(r["pin_median_ms"]) for r in rows], marker="o", color=color, label=f"{variant}: pinns")
            anchor = [r["unshare_pin_median_ms"] for r in rows]
            if all(anchor):
                ax.plot(xs, [float(a) for a in anchor], marker="x", linestyle=":", color=color, label=f"{variant}: unshare")
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("pods already pinned in DIR (0 drawn at 1)")
        ax.set_ylabel("median ms per pin (net+ipc+uts, 2 sysctls)")
        ax.set_title("Sweep: pin latency vs pods in DIR")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)

    fig.tight_layout()
    path = os.path.join(out, "pod-create.png")
    fig.savefig(path)
    print(f"chart: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
