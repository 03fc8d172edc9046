"""How well do cheap proxies rank measured training energy? (EC-NAS-Bench, all 2,532 cells.)

Ground truth: ``energy@ecnas`` at 4 epochs (kWh, the 5V9E run of every cell; Bakhtiarifard et al.,
ICASSP 2024, NVIDIA Quadro RTX 6000). Proxies: trainable params, analytic forward FLOPs and peak
activation memory (``hynas.hw.analytic``), roofline latency on the catalog's rtx4090 at batch 256
(NAS-Bench-101's training batch; the catalog has no Quadro RTX 6000), the measured training time,
and the 2-epoch energy (the low fidelity). Noise ceiling: the 91 cells with three more runs (4V9E)
give the run-to-run agreement of energy itself.

Reports Kendall τ and Spearman ρ; measures, never asserts. Writes bench/results/energy.json and
bench/results/energy.md.

    nice -n 10 python bench/energy.py     # ~10 seconds
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import kendalltau, spearmanr

from hynas.benchmarks.ecnas import load_table
from hynas.hw.analytic import analytic_costs, arch_ops
from hynas.hw.devices import get_device
from hynas.hw.roofline import roofline_latency
from hynas.spaces import get_space

RESULTS = Path(__file__).parent / "results"


def _scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {"kendall_tau": float(kendalltau(pred, truth)[0]), "spearman": float(spearmanr(pred, truth)[0])}


def main() -> dict[str, Any]:
    space = get_space("ecnas")
    t = load_table()
    archs = list(space.enumerate())
    energy = t["energy@4"]
    costs = [analytic_costs(a) for a in archs]
    device = get_device("rtx4090")
    roofline = np.array([roofline_latency(arch_ops(a, batch=256), device, "fp32") for a in archs])
    proxies = {
        "params": t["params"],
        "flops (analytic, forward)": np.array([c["flops"] for c in costs]),
        "peak activation memory (analytic)": np.array([c["peak_activation_bytes"] for c in costs]),
        "roofline latency, rtx4090, batch 256": roofline,
        "training time, 4 epochs (measured)": t["time@4"],
        "energy after 2 epochs (measured)": t["energy@2"],
        "validation accuracy, 4 epochs": t["val@4"],
    }
    rows = {name: _scores(values, energy) for name, values in proxies.items()}

    # run-to-run noise of energy on the 91 cells with three more runs
    rep = t.repeats["energy@4"]  # (91, 3)
    pairs = [kendalltau(rep[:, i], rep[:, j])[0] for i, j in itertools.combinations(range(3), 2)]
    cv = rep.std(axis=1, ddof=1) / rep.mean(axis=1)
    main_run = energy[t.repeat_rows]
    noise = {
        "cells": len(rep),
        "kendall_tau_between_repeats_mean": float(np.mean(pairs)),
        "kendall_tau_5v9e_run_vs_4v9e_mean": float(kendalltau(main_run, rep.mean(axis=1))[0]),
        "cv_median": float(np.median(cv)),
        "cv_max": float(cv.max()),
        "5v9e_over_4v9e_mean_median_ratio": float(np.median(main_run / rep.mean(axis=1))),
        "kendall_tau_flops_on_these_cells": float(
            kendalltau(proxies["flops (analytic, forward)"][t.repeat_rows], rep.mean(axis=1))[0]
        ),
    }
    train_s = t["time@4"]
    power_w = (t["energy@4"] - t["energy@0"]) * 3.6e6 / train_s
    summary = {
        "cells": len(archs),
        "energy_kwh": {
            "min": float(energy.min()),
            "median": float(np.median(energy)),
            "max": float(energy.max()),
        },
        "train_time_s": {
            "min": float(train_s.min()),
            "median": float(np.median(train_s)),
            "max": float(train_s.max()),
        },
        "mean_power_w_during_training": {
            "median": float(np.median(power_w)),
            "p10": float(np.percentile(power_w, 10)),
            "p90": float(np.percentile(power_w, 90)),
        },
    }
    return {"summary": summary, "proxies": rows, "noise": noise}


def _markdown(res: dict[str, Any]) -> str:
    s, n = res["summary"], res["noise"]
    lines = [
        "# Proxies of measured training energy (EC-NAS-Bench, `bench/energy.py`)",
        "",
        f"Ground truth: `energy@ecnas`, 4 epochs, {s['cells']:,} cells (kWh: min {s['energy_kwh']['min']:.4f}, "
        f"median {s['energy_kwh']['median']:.4f}, max {s['energy_kwh']['max']:.4f}; training time "
        f"{s['train_time_s']['min']:.0f}–{s['train_time_s']['max']:.0f} s; energy after epoch 0 ÷ training time, median "
        f"{s['mean_power_w_during_training']['median']:.0f} W, 10–90%: {s['mean_power_w_during_training']['p10']:.0f}–"
        f"{s['mean_power_w_during_training']['p90']:.0f} W: everything the benchmark's logger counted, over the "
        "training seconds only).",
        "",
        "| proxy | Kendall τ | Spearman ρ |",
        "|---|---|---|",
    ]
    for name, r in res["proxies"].items():
        lines.append(f"| {name} | {r['kendall_tau']:.3f} | {r['spearman']:.3f} |")
    lines += [
        "",
        f"Noise ceiling ({n['cells']} cells with three more runs, 4V9E): Kendall τ between two runs "
        f"{n['kendall_tau_between_repeats_mean']:.3f} (mean of the 3 pairs); the 5V9E run against the mean of "
        f"the three: τ {n['kendall_tau_5v9e_run_vs_4v9e_mean']:.3f} (5V9E / 4V9E energy, median ratio "
        f"{n['5v9e_over_4v9e_mean_median_ratio']:.3f}); coefficient of variation across the three runs: median "
        f"{100 * n['cv_median']:.1f}%, max {100 * n['cv_max']:.1f}%. FLOPs on these 91 cells: τ "
        f"{n['kendall_tau_flops_on_these_cells']:.3f}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    res = main()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "energy.json").write_text(json.dumps(res, indent=2) + "\n")
    md = _markdown(res)
    (RESULTS / "energy.md").write_text(md)
    print(md)
