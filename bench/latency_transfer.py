"""Few-shot latency transfer across devices (issue 3 benchmark, part B).

Leave-one-device-out over the four HW-NAS-Bench devices (eyeriss, fpga, pixel3, raspi4; NB201 cells,
CIFAR-10 input): one gradient-boosting predictor per *other* device is pre-trained on 3,000 random
cells of the table, then :class:`hynas.hw.predictor.FewShotLatencyPredictor` adapts to the held-out
device from k = 5 / 10 / 20 random cells measured there. Scored by Spearman ρ and Kendall τ against
the held-out device's table on all remaining cells, over several seeds (the k cells change with the
seed). Peers on the same cells, same run:

* ``no transfer``: the same ridge head (LOO-chosen regularisation) on the per-choice count features
  only, fitted on the k cells (what one gets without the source devices);
* ``best source (oracle)``: the single source device whose table ranks the target best (chosen with
  hindsight on all cells, so an upper bound on "just use a similar device");
* ``flops``/``params`` as proxies.

Measures, never asserts. Writes bench/results/latency_transfer.json and .md.

    nice -n 10 python bench/latency_transfer.py           # ~3 minutes on a 2-core shared machine
    nice -n 10 python bench/latency_transfer.py --seeds 3 # quicker
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

from hynas.benchmarks.nb201 import DEVICES, load_table, nb201_macs
from hynas.hw.predictor import FewShotLatencyPredictor, hwnasbench_sources, structure_features
from hynas.spaces import get_space

RESULTS = Path(__file__).parent / "results"


def _no_transfer(x: np.ndarray, y: np.ndarray, shots: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import StandardScaler

    keep = x[shots].std(axis=0) > 1e-12
    sc = StandardScaler().fit(x[shots][:, keep])
    m = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(sc.transform(x[shots][:, keep]), np.log(y[shots]))
    return np.asarray(m.predict(sc.transform(x[:, keep])))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--ks", type=int, nargs="+", default=[5, 10, 20])
    ap.add_argument("--n-train", type=int, default=3000, help="table cells per source predictor")
    args = ap.parse_args()

    t0 = time.perf_counter()
    space = get_space("nb201")
    table = load_table()
    archs = list(space.enumerate())  # official index order, the table's order
    n = len(archs)
    flops = np.array([nb201_macs(a.genes) for a in archs])
    params = table["params"]
    struct = structure_features(space, archs)
    sources = hwnasbench_sources(n_train=args.n_train, seed=0)
    pretrain_s = time.perf_counter() - t0
    for p in sources.values():  # warm the per-architecture prediction caches once
        p.predict_log(archs)

    rows: list[dict[str, object]] = []
    for target in DEVICES:
        y = table[f"latency@{target}"]
        fs = FewShotLatencyPredictor(space, {d: p for d, p in sources.items() if d != target})
        oracle = max(
            (d for d in DEVICES if d != target), key=lambda d: spearmanr(table[f"latency@{d}"], y).statistic
        )
        for k in args.ks:
            scores: dict[str, list[tuple[float, float]]] = {}
            for seed in range(args.seeds):
                rng = np.random.default_rng(1000 * k + seed)
                shots = rng.choice(n, k, replace=False)
                test = np.setdiff1d(np.arange(n), shots)
                fs.adapt([archs[i] for i in shots], y[shots])
                preds = {
                    "few-shot transfer": fs.predict([archs[i] for i in test]),
                    "no transfer (k cells only)": _no_transfer(struct, y, shots)[test],
                    f"best source (oracle: {oracle})": table[f"latency@{oracle}"][test],
                    "flops (proxy)": flops[test],
                    "params (proxy)": params[test],
                }
                for name, p in preds.items():
                    scores.setdefault(name, []).append(
                        (float(spearmanr(p, y[test]).statistic), float(kendalltau(p, y[test]).statistic))
                    )
            for name, vals in scores.items():
                v = np.array(vals)
                rows.append(
                    {
                        "target": target,
                        "k": k,
                        "method": name,
                        "spearman_mean": float(v[:, 0].mean()),
                        "spearman_std": float(v[:, 0].std()),
                        "spearman_min": float(v[:, 0].min()),
                        "kendall_mean": float(v[:, 1].mean()),
                        "kendall_std": float(v[:, 1].std()),
                        "seeds": args.seeds,
                    }
                )
            print(target, k, {r["method"]: round(float(r["spearman_mean"]), 3) for r in rows[-len(scores) :]})

    summary = {}
    for k in args.ks:
        fsr = [r for r in rows if r["k"] == k and r["method"] == "few-shot transfer"]
        summary[f"k={k}"] = {
            "mean_spearman_over_devices": float(np.mean([r["spearman_mean"] for r in fsr])),
            "worst_device_spearman": float(min(r["spearman_mean"] for r in fsr)),  # type: ignore[type-var]
        }
    out = {
        "benchmark": "few-shot latency transfer, leave-one-device-out over HW-NAS-Bench",
        "n_train_per_source": args.n_train,
        "seeds": args.seeds,
        "pretrain_seconds": pretrain_s,
        "total_seconds": time.perf_counter() - t0,
        "summary": summary,
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latency_transfer.json").write_text(json.dumps(out, indent=2))
    md = [
        "# Few-shot latency transfer (leave-one-device-out, HW-NAS-Bench, NB201)",
        "",
        f"Sources pre-trained on {args.n_train} cells each ({pretrain_s:.1f} s); k cells of the target; "
        f"scored on the other {n:,} − k cells; mean ± std over {args.seeds} seeds.",
        "",
        "| target | k | method | Spearman ρ | Kendall τ | worst seed ρ |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        md.append(
            f"| {r['target']} | {r['k']} | {r['method']} | {r['spearman_mean']:.3f} ± {r['spearman_std']:.3f} "
            f"| {r['kendall_mean']:.3f} ± {r['kendall_std']:.3f} | {r['spearman_min']:.3f} |"
        )
    md += ["", "| k | few-shot mean ρ over devices | worst device ρ |", "|---|---|---|"]
    for key, s in summary.items():
        md.append(f"| {key[2:]} | {s['mean_spearman_over_devices']:.3f} | {s['worst_device_spearman']:.3f} |")
    (RESULTS / "latency_transfer.md").write_text("\n".join(md) + "\n")
    print("\n".join(md[-len(summary) - 2 :]))


if __name__ == "__main__":
    main()
