"""Latency estimators against measured latency on this CPU (issue 3 benchmark, part A).

For each space (nb201, mobile): build the per-operator lookup table (in-network and isolated
operator timing), sample random architectures, measure each one with PyTorch eager (threads=1,
batch=1; several interleaved rounds so that a burst of load from other processes hits every
architecture alike) and compare with the estimators: the LUT, the roofline model on the locally
calibrated device, and FLOPs / params as proxies (affine fit on separate calibration networks).
Reports Kendall τ, Spearman ρ and MAPE, the LUT build time, the run-to-run noise (IQR / median of
the repeats; and the relative difference between two rounds' medians), and ONNX Runtime on a subset.

Measures, never asserts. Writes bench/results/latency.json and bench/results/latency.md.

    nice -n 10 python bench/latency.py            # ~8 minutes on a 2-core shared machine
    nice -n 10 python bench/latency.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr

from hynas.hw.analytic import analytic_costs, arch_ops
from hynas.hw.devices import get_device
from hynas.hw.lut import build_lut
from hynas.hw.measure import example_input, fingerprint, measure_module
from hynas.hw.roofline import roofline_latency
from hynas.spaces import get_space

RESULTS = Path(__file__).parent / "results"


def _scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {
        "kendall_tau": float(kendalltau(pred, truth)[0]),
        "spearman": float(spearmanr(pred, truth)[0]),
        "mape": float(np.mean(np.abs(pred - truth) / truth)),
    }


def _affine(x_cal: np.ndarray, y_cal: np.ndarray, x: np.ndarray) -> np.ndarray:
    a = np.stack([x_cal, np.ones_like(x_cal)], axis=1)
    (s, o), *_ = np.linalg.lstsq(a, y_cal, rcond=None)
    return s * x + o


def _measure_rounds(space_name: str, archs: list[Any], rounds: int, repeats: int, clock: str) -> np.ndarray:
    """samples[i, r, k]: repeat k of round r of architecture i (seconds)."""
    space = get_space(space_name)
    out = np.zeros((len(archs), rounds, repeats))
    for r in range(rounds):
        for i, arch in enumerate(archs):
            model = space.build(arch)
            m = measure_module(model, example_input(arch), "torch", 1, 1, repeats, clock)
            out[i, r] = m.samples_s
    return out


def run_space(
    name: str, n: int, rounds: int, repeats: int, n_cal: int, n_onnx: int, seed: int, clock: str
) -> dict[str, Any]:
    space = get_space(name)
    res: dict[str, Any] = {"space": name, "n_archs": n, "rounds": rounds, "repeats_per_round": repeats}
    tables = {}
    for mode, stat in (("network", "median"), ("isolated", "median"), ("network", "min")):
        t = time.perf_counter()
        tables[(mode, stat)] = table = build_lut(
            name,
            warmup=3,
            repeats=10,
            n_fit=10,
            fit_repeats=6,
            mode=mode,
            stat=stat,
            seed=seed + 1,
            clock=clock,
        )
        res[f"lut_{mode}_{stat}"] = {
            "build_seconds": round(time.perf_counter() - t, 2),
            "operators": len(table.entries),
            "scale": table.scale,
            "overhead_ms": table.overhead_s * 1e3,
        }
        print(f"[{name}] LUT ({mode}, {stat}): {res[f'lut_{mode}_{stat}']}", flush=True)
    rng = np.random.default_rng(seed)
    seen: set[Any] = set()
    archs: list[Any] = []
    while len(archs) < n + n_cal:
        a = space.sample(rng)
        if a not in seen:
            seen.add(a)
            archs.append(a)
    t = time.perf_counter()
    samples = _measure_rounds(name, archs, rounds, repeats, clock)
    res["measure_seconds"] = round(time.perf_counter() - t, 1)
    truth_all = np.median(samples.reshape(len(archs), -1), axis=1)
    cal, test = slice(0, n_cal), slice(n_cal, None)
    truth = truth_all[test]
    q1, q3 = np.percentile(samples.reshape(len(archs), -1), [25, 75], axis=1)
    round_meds = np.median(samples, axis=2)
    res["noise"] = {
        "iqr_over_median_median": float(np.median((q3 - q1) / truth_all)),
        "iqr_over_median_p90": float(np.percentile((q3 - q1) / truth_all, 90)),
        "round_to_round_rel_diff_median": float(
            np.median(np.abs(round_meds[:, 0] - round_meds[:, -1]) / truth_all)
        )
        if rounds > 1
        else float("nan"),
        "latency_ms_min_median_max": [
            float(truth.min() * 1e3),
            float(np.median(truth) * 1e3),
            float(truth.max() * 1e3),
        ],
    }
    print(
        f"[{name}] measured {len(archs)} archs in {res['measure_seconds']} s; noise {res['noise']}",
        flush=True,
    )
    truth_min = np.min(samples.reshape(len(archs), -1), axis=1)[test]
    est: dict[str, np.ndarray] = {}
    for (mode, stat), table in tables.items():
        est[f"lut ({mode}, {stat})"] = np.array([table.predict(a) for a in archs[test]])
    costs = [analytic_costs(a) for a in archs]
    flops = np.array([c["flops"] for c in costs])
    params = np.array([c["params"] for c in costs])
    local = get_device("local")
    roof = np.array([roofline_latency(arch_ops(a), local) for a in archs])
    est["roofline (local, calibrated)"] = roof[test]
    est["roofline, affine-fitted"] = _affine(roof[cal], truth_all[cal], roof[test])
    est["FLOPs proxy (affine fit)"] = _affine(flops[cal], truth_all[cal], flops[test])
    est["params proxy (affine fit)"] = _affine(params[cal], truth_all[cal], params[test])
    if rounds > 1:
        # the noise ceiling: one round's medians used to predict another round's
        res["noise"]["round_vs_round"] = _scores(round_meds[test, 0], round_meds[test, -1])
    res["per_arch"] = [
        {"arch": str(a), "measured_ms": float(t * 1e3), **{k: float(v[i] * 1e3) for k, v in est.items()}}
        for i, (a, t) in enumerate(zip(archs[test], truth, strict=True))
    ]
    res["estimators"] = {
        k: {
            "truth": "min" if ", min)" in k else "median",
            **_scores(v, truth_min if ", min)" in k else truth),
        }
        for k, v in est.items()
    }
    for k, v in res["estimators"].items():
        print(f"[{name}] {k}: {v}", flush=True)
    # ONNX Runtime on a subset: its latency, and how the eager-built LUT ranks it
    sub = archs[n_cal : n_cal + n_onnx]
    t = time.perf_counter()
    ort = np.array(
        [
            measure_module(space.build(a), example_input(a), "onnxruntime", 1, 2, repeats, clock).median_s
            for a in sub
        ]
    )
    res["onnxruntime"] = {
        "n": len(sub),
        "seconds": round(time.perf_counter() - t, 1),
        "median_ms": float(np.median(ort) * 1e3),
        "eager_median_ms_same_archs": float(np.median(truth[: len(sub)]) * 1e3),
        "eager_vs_ort": _scores(truth[: len(sub)], ort),
        "lut_network_vs_ort": _scores(est["lut (network, median)"][: len(sub)], ort),
    }
    print(f"[{name}] onnxruntime: {res['onnxruntime']}", flush=True)
    return res


def markdown(out: dict[str, Any]) -> str:
    lines = [
        "# Latency estimators vs measured latency (this CPU)",
        "",
        f"Machine: {out['fingerprint']['cpu']}, {out['fingerprint']['cores']} cores, torch "
        f"{out['fingerprint']['torch']}, onnxruntime {out['fingerprint']['onnxruntime']}; "
        f"1 thread, batch 1, clock `{out['args']['clock']}`. Load average at start / end: {out['load_start']} / {out['load_end']} "
        "(the machine is shared with other jobs). Ground truth: median over "
        "rounds × repeats of PyTorch eager (rows marked *min*: the fastest of those runs, against a LUT built with the min statistic). Targets: Kendall τ ≥ 0.90, MAPE ≤ 10%.",
        "",
    ]
    for res in out["spaces"]:
        name = res["space"]
        nz = res["noise"]
        lines += [
            f"## {name} ({res['n_archs']} random architectures)",
            "",
            f"Latency min / median / max: {nz['latency_ms_min_median_max'][0]:.2f} / "
            f"{nz['latency_ms_min_median_max'][1]:.2f} / {nz['latency_ms_min_median_max'][2]:.2f} ms. "
            f"Noise: IQR/median median {nz['iqr_over_median_median']:.3f} (p90 {nz['iqr_over_median_p90']:.3f}); "
            f"round-to-round relative difference of medians (median) {nz['round_to_round_rel_diff_median']:.3f}"
            + (
                f"; one round's medians as a predictor of another's (noise ceiling): τ "
                f"{nz['round_vs_round']['kendall_tau']:.3f}, MAPE {100 * nz['round_vs_round']['mape']:.1f}%."
                if "round_vs_round" in nz
                else "."
            ),
            "",
            "| estimator | truth statistic | Kendall τ | Spearman ρ | MAPE |",
            "|---|---|---|---|---|",
        ]
        for k, v in res["estimators"].items():
            lines.append(
                f"| {k} | {v['truth']} | {v['kendall_tau']:.3f} | {v['spearman']:.3f} | {100 * v['mape']:.1f}% |"
            )
        lines += [
            "",
            "| LUT (timing mode, statistic) | operators | build time (s) | scale | overhead (ms) |",
            "|---|---|---|---|---|",
        ]
        for key in ("network_median", "isolated_median", "network_min"):
            lut = res[f"lut_{key}"]
            lines.append(
                f"| {key.replace('_', ', ')} | {lut['operators']} | {lut['build_seconds']:.1f} | {lut['scale']:.3f} | {lut['overhead_ms']:.3f} |"
            )
        o = res["onnxruntime"]
        lines += [
            "",
            f"ONNX Runtime on {o['n']} of them: median {o['median_ms']:.2f} ms vs eager "
            f"{o['eager_median_ms_same_archs']:.2f} ms; eager-vs-ORT τ {o['eager_vs_ort']['kendall_tau']:.3f}; "
            f"eager-built LUT vs ORT τ {o['lut_network_vs_ort']['kendall_tau']:.3f}.",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n-cal", type=int, default=10)
    ap.add_argument("--n-onnx", type=int, default=10)
    ap.add_argument("--spaces", default="nb201,mobile")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clock", default="cpu", help="cpu (thread CPU time) or wall")
    ap.add_argument("--quick", action="store_true", help="20 architectures, 5 for ONNX")
    ap.add_argument("--name", default="latency")
    args = ap.parse_args()
    if args.quick:
        args.n, args.n_onnx = 20, 5
    torch.set_num_threads(1)
    out: dict[str, Any] = {
        "fingerprint": fingerprint(),
        "load_start": [round(x, 2) for x in os.getloadavg()],
        "args": vars(args),
        "spaces": [],
    }
    t = time.perf_counter()
    for name in args.spaces.split(","):
        out["spaces"].append(
            run_space(name, args.n, args.rounds, args.repeats, args.n_cal, args.n_onnx, args.seed, args.clock)
        )
    out["load_end"] = [round(x, 2) for x in os.getloadavg()]
    out["total_seconds"] = round(time.perf_counter() - t, 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(out, indent=1))
    (RESULTS / f"{args.name}.md").write_text(markdown(out))
    print(markdown(out))


if __name__ == "__main__":
    main()
