#!/usr/bin/env python3
"""Summarises the samples of tests/it/crio_bench.rs: medians per variant side by
side, with ratios (pause / no pause for each helper, C / ours for each mode);
writes crio-pods.csv and, with matplotlib, crio-pods.png into OUT_DIR."""

import csv
import os
import statistics
import sys

METRICS = [
    ("create_ms", "create, ms per pod (median)"),
    ("remove_ms", "remove, ms per pod (median)"),
    ("create_all_ms", "create N pods, ms (sum, median round)"),
    ("remove_all_ms", "remove N pods, ms (sum, median round)"),
    ("pause_kib_per_pod", "KiB per idle pod in pod cgroups (pause)"),
    ("conmon_kib_per_pod", "KiB per idle pod of conmon monitors"),
]
VARIANTS = ["ours/no-pause", "c/no-pause", "ours/pause", "c/pause"]


def ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def main():
    samples, out_dir = sys.argv[1], sys.argv[2]
    with open(samples) as f:
        rows = list(csv.DictReader(f))
    values = {}
    for r in rows:
        values.setdefault((r["variant"], r["phase"]), []).append(float(r["value"]))
    n = 1 + max(int(r["pod"]) for r in rows if r["pod"])
    rounds = 1 + max(int(r["round"]) for r in rows)
    med = {k: statistics.median(v) for k, v in values.items()}

    print(f"\nCRI-O pods: {n} pods x {rounds} rounds per variant, interleaved pod by pod")
    head = f"{'':42}" + "".join(f"{v:>15}" for v in VARIANTS)
    head += f"{'pause/none ours':>17}{'pause/none C':>14}{'C/ours none':>13}{'C/ours pause':>14}"
    print(head)
    summary = []
    for key, label in METRICS:
        m = [med.get((v, key), 0.0) for v in VARIANTS]
        line = f"{label:42}" + "".join(f"{x:15.1f}" for x in m)
        line += f"{ratio(m[2], m[0]):>17}{ratio(m[3], m[1]):>14}"
        line += f"{ratio(m[1], m[0]):>13}{ratio(m[3], m[2]):>14}"
        print(line)
        summary.append([key] + [f"{x:.1f}" for x in m])
    with open(os.path.join(out_dir, "crio-pods.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["metric"] + VARIANTS)
        w.writerows(summary)
    try:
        chart(values, out_dir, n, rounds)
    except ImportError:
        print("(matplotlib missing: no chart; apt-get install python3-matplotlib)")


def chart(values, out_dir, n, rounds):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10.4, 4.4), dpi=90)
    ax = axes[0]
    data, pos, colors = [], [], []
    for i, v in enumerate(VARIANTS):
        for j, (phase, color) in enumerate((("create_ms", "#4477aa"), ("remove_ms", "#ee9944"))):
            data.append(values.get((v, phase), [0.0]))
            pos.append(i * 3 + j)
            colors.append(color)
    parts = ax.boxplot(data, positions=pos, widths=0.8, patch_artist=True, showfliers=False)
    for patch, color in zip(parts["boxes"], colors):
        patch.set_facecolor(color)
    ax.set_xticks([i * 3 + 0.5 for i in range(len(VARIANTS))])
    ax.set_xticklabels(VARIANTS, rotation=20, ha="right")
    ax.set_ylabel("ms per pod (crictl runp / stopp+rmp)")
    ax.set_title(f"Through CRI-O: create (blue), remove (orange)\n{n} pods x {rounds} rounds")
    ax.grid(axis="y", alpha=0.3)
    ax = axes[1]
    pause = [statistics.median(values.get((v, "pause_kib_per_pod"), [0.0])) for v in VARIANTS]
    conmon = [statistics.median(values.get((v, "conmon_kib_per_pod"), [0.0])) for v in VARIANTS]
    ax.bar(VARIANTS, pause, color="#66aa55", label="pause process")
    bars = ax.bar(VARIANTS, conmon, bottom=pause, color="#aa6655", label="its conmon")
    for bar, p, c in zip(bars, pause, conmon):
        ax.annotate(f"{p + c:.0f}", (bar.get_x() + bar.get_width() / 2, p + c), ha="center", va="bottom")
    ax.set_ylabel("KiB resident per idle pod")
    ax.set_title("What an idle pod keeps running")
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "crio-pods.png"))


if __name__ == "__main__":
    main()
