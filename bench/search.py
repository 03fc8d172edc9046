"""Sample-efficient search on NAS-Bench-201: BANANAS, REINFORCE, multi-fidelity vs REA and Optuna.

Protocol (the core benchmark's): search on validation accuracy, report the incumbent's test
accuracy (the incumbent = the best validation accuracy among the queries so far, at the top
fidelity). Every strategy runs on the same seeds in the same process. Budgets 50/100/150/300 are
read off one 300-query run per seed (no strategy here knows its budget, so a shorter run is the
prefix of the longer one).

Parts:
- ``single``: single objective on CIFAR-10, CIFAR-100 and ImageNet16-120 (the tabular evaluator's
  default fidelity: 200 epochs for CIFAR-10, 12 for the others).
- ``mo``: accuracy × latency on each HW-NAS-Bench device (CIFAR-10); hypervolume ratio to the true
  front of all 15,625 cells, reference point = worst value of each objective over the space.
- ``mf``: anytime curves against simulated cost on CIFAR-10 (12 and 200 epochs): Hyperband, BOHB and
  successive halving beside single-fidelity strategies; the incumbent counts 200-epoch queries only.
- ``proxies``: zero-cost proxies on real NB201 networks vs accuracy and vs the shipped NASWOT.
- ``warm``: how good each proxy is as a warm start (the 10 best of pools of 100 cells).

Every search runs through hynas's own runner (:func:`hynas.runners.run`, the driver loop of
``hynas search``) on an in-memory store (:class:`hynas.stores.MemoryStore`): the same ask/tell
sequence as a search on disk, without the file. Measures, never asserts. Writes
``bench/results/search.json`` and ``bench/results/search.md`` (tables: ``bench/search_md.py``).
Run: ``nice -n 10 python bench/search.py [--seeds 30] [--parts single,mo,mf,proxies]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one process, no thread oversubscription on a shared machine
sys.path.insert(0, str(Path(__file__).resolve().parent))
from hynas.core.experiment import ExperimentConfig
from hynas.core.store import TrialRecord
from hynas.report.analysis import reference_point, run_front, true_front
from hynas.runners import run
from hynas.stores import MemoryStore
from hynas.wiring import Experiment
from search_md import write_md

RESULTS = Path(__file__).resolve().parent / "results"
BUDGETS = (50, 100, 150, 300)
DATASETS = ("cifar10", "cifar100", "imagenet16-120")
SINGLE = (
    "bananas",
    "bananas+naswot",
    "rea",
    "rea+naswot",
    "optuna-tpe",
    "optuna-tpe+naswot",
    "reinforce",
    "random",
)
#: zero-cost warm start: the best of 1,000 random cells by the NASWOT score shipped with NB201
#: (BANANAS's 10 initial queries, REA's first population of 20, TPE's 10 startup trials)
WARM = {"warm_start": "naswot@nb201"}
#: row label -> (strategy, options) where a row is a strategy with options
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    f"{name}+naswot": (name, WARM) for name in ("bananas", "rea", "optuna-tpe")
}
DEVICES = ("eyeriss", "fpga", "pixel3", "raspi4")
MO = ("bananas", "nsga2", "random")
MF = ("hyperband", "bohb", "sh", "rea", "random")


def one_search(
    strategy: str,
    dataset: str = "cifar10",
    objectives: tuple[str, ...] = ("accuracy",),
    budget: int | None = 100,
    budget_seconds: float | None = None,
    seed: int = 0,
    options: dict[str, Any] | None = None,
    constraints: tuple[str, ...] = (),
) -> tuple[Experiment, list[TrialRecord], float]:
    """Run one search with hynas's runner on an in-memory store, until ``budget`` queries or
    ``budget_seconds`` of simulated cost; returns the experiment, its trials and the wall time (s)."""
    cfg = ExperimentConfig(
        dataset=dataset,
        strategy=strategy,
        strategy_options=options or {},
        objectives=objectives,
        constraints=constraints,
        budget=budget,
        budget_seconds=budget_seconds,
        seed=seed,
    )
    t0 = time.perf_counter()
    exp = Experiment(cfg)
    with MemoryStore() as store:
        records = run(exp, store)
    return exp, records, time.perf_counter() - t0


def incumbent_test(records: list[TrialRecord], top: float | None = None) -> float:
    """Test accuracy of the best-validation record (at fidelity ``top`` when given)."""
    best: TrialRecord | None = None
    for r in records:
        if not r.ok or (top is not None and r.fidelity is not None and r.fidelity != top):
            continue
        if best is None or r.metrics["accuracy"] > best.metrics["accuracy"]:
            best = r
    return float("nan") if best is None else float(best.hidden["test_accuracy"])


def _stats(v: list[float]) -> dict[str, float]:
    a = np.array(v, dtype=float)
    return {"mean": float(np.nanmean(a)), "std": float(np.nanstd(a)), "n": int(np.isfinite(a).sum())}


def part_single(
    seeds: int,
    other_seeds: int,
    log: Any,
    out: dict[str, Any],
    save: Any,
    datasets: tuple[str, ...] = DATASETS,
    strategies: tuple[str, ...] = SINGLE,
) -> dict[str, Any]:
    for ds in datasets:
        n_seeds = seeds if ds == "cifar10" else other_seeds
        for strat in strategies:
            name, opts = VARIANTS.get(strat, (strat, {}))
            per_budget: dict[int, list[float]] = {b: [] for b in BUDGETS}
            secs = []
            for s in range(n_seeds):
                _, recs, t = one_search(name, dataset=ds, budget=max(BUDGETS), seed=s, options=opts)
                secs.append(t)
                for b in BUDGETS:
                    per_budget[b].append(incumbent_test(recs[:b]))
                if t > 5:
                    log(f"  {ds} {strat} seed {s}: {t:.1f} s")
            out[f"{ds}/{strat}"] = {
                "test_accuracy": {str(b): _stats(v) for b, v in per_budget.items()},
                "seconds_per_run": float(np.mean(secs)),
                "seeds": n_seeds,
            }
            log(f"single {ds} {strat}: " + ", ".join(f"{b}q {np.mean(v):.2f}" for b, v in per_budget.items()))
            save()
    return out


def part_mo(seeds: int, log: Any, out: dict[str, Any], devices: tuple[str, ...] = DEVICES) -> dict[str, Any]:
    for dev in devices:
        objs = ("accuracy", f"latency@{dev}")
        exp = Experiment(ExperimentConfig(strategy="random", objectives=objs, budget=1))
        ref = reference_point(exp)
        tf = true_front(exp)
        assert tf is not None
        for strat in MO:
            ratios: dict[int, list[float]] = {b: [] for b in BUDGETS}
            secs = []
            for s in range(seeds):
                e, recs, t = one_search(strat, objectives=objs, budget=max(BUDGETS), seed=s)
                secs.append(t)
                if t > 5:
                    log(f"  {dev} {strat} seed {s}: {t:.1f} s")
                for b in BUDGETS:
                    ratios[b].append(run_front(e, recs[:b], ref).hypervolume / tf.hypervolume)
            out[f"{dev}/{strat}"] = {
                "hv_ratio": {str(b): _stats(v) for b, v in ratios.items()},
                "seconds_per_run": float(np.mean(secs)),
                "seeds": seeds,
            }
            log(f"mo {dev} {strat}: " + ", ".join(f"{b}q {np.mean(v):.4f}" for b, v in ratios.items()))
    return out


def part_mf(seeds: int, log: Any) -> dict[str, Any]:
    # checkpoints in multiples of the mean cost of one 200-epoch CIFAR-10 query
    exp = Experiment(ExperimentConfig(strategy="random", objectives=("accuracy",), budget=1))
    ev: Any = exp.evaluator
    from hynas.evaluators.tabular import simulated_cost

    unit = float(np.mean([simulated_cost(m, 200, ev.n_train) for m in ev._macs]))
    checkpoints = (10, 25, 50, 100)
    total = unit * max(checkpoints)
    out: dict[str, Any] = {"unit_seconds": unit, "checkpoints_in_full_queries": list(checkpoints)}
    for strat in MF:
        curves: dict[int, list[float]] = {c: [] for c in checkpoints}
        queries = []
        for s in range(seeds):
            _, recs, _t = one_search(strat, budget=None, budget_seconds=total, seed=s)
            queries.append(len(recs))
            cum = np.cumsum([r.cost_s for r in recs])
            for c in checkpoints:
                k = int(np.searchsorted(cum, c * unit, side="right"))
                curves[c].append(incumbent_test(recs[:k], top=200.0))
        out[strat] = {
            "test_accuracy": {str(c): _stats(v) for c, v in curves.items()},
            "queries": float(np.mean(queries)),
        }
        log(f"mf {strat}: " + ", ".join(f"{c}x {np.nanmean(v):.2f}" for c, v in curves.items()))
    return out


def part_proxies(n_archs: int, log: Any) -> dict[str, Any]:
    import json as _json

    import torch
    from scipy.stats import spearmanr

    from hynas.benchmarks.nb201 import load_table
    from hynas.proxies import PROXIES, score
    from hynas.spaces import get_space

    sp = get_space("nb201")
    table = load_table()
    rng = np.random.default_rng(0)
    idx = rng.choice(15625, n_archs, replace=False)
    scores: dict[str, list[float]] = {p: [] for p in PROXIES}
    t0 = time.perf_counter()
    for i in idx:
        torch.manual_seed(int(i))
        model = sp.build(sp.from_index(int(i)))
        for p in PROXIES:
            scores[p].append(score(model, p, batch=64))
    secs = (time.perf_counter() - t0) / n_archs
    acc = table["cifar10@200:val"][idx]
    shipped = table["naswot"][idx]
    ok = np.isfinite(shipped)
    out: dict[str, Any] = {"archs": n_archs, "seconds_per_arch_all_proxies": secs, "ours": {}}
    for p, v in scores.items():
        va = np.array(v)
        out["ours"][p] = {
            "spearman_accuracy": float(spearmanr(va, acc, nan_policy="omit")[0]),
            "spearman_shipped_naswot": float(spearmanr(va[ok], shipped[ok])[0]),
        }
        log(f"proxy {p}: rho(acc) {out['ours'][p]['spearman_accuracy']:.3f}")
    out["shipped_naswot_spearman_accuracy_all_cells"] = float(
        spearmanr(table["naswot"], table["cifar10@200:val"], nan_policy="omit")[0]
    )
    # NASLib's NAS-Bench-Suite-Zero scores (shipped in hynas/data/naslib_zc)
    from importlib import resources

    naslib = _json.loads(resources.files("hynas.data").joinpath("naslib_zc/nb201_zc_scores.json").read_text())
    out["naslib"] = {}
    for ds, rows in naslib["data"].items():
        out["naslib"][ds] = {}
        for p in naslib["proxies"]:
            have = [r for r in rows if p in r]
            if len(have) > 10:
                out["naslib"][ds][p] = float(
                    spearmanr([r[p] for r in have], [r["val_accuracy"] for r in have])[0]
                )
    return out


def part_warm(n_archs: int, log: Any) -> dict[str, Any]:
    """How good a zero-cost warm start is: on ``n_archs`` random NB201 cells, each proxy's Spearman
    with CIFAR-10 validation accuracy, and, over 500 random pools of 100 of those cells, the best
    and the mean test accuracy of the 10 cells the proxy ranks first (what BANANAS's warm start
    queries), beside 10 random cells."""
    from scipy.stats import spearmanr

    from hynas.benchmarks.nb201 import load_table
    from hynas.core.metrics import resolve_cost_model
    from hynas.spaces import get_space

    sp = get_space("nb201")
    table = load_table()
    rng = np.random.default_rng(0)
    idx = rng.choice(15625, n_archs, replace=False)
    val, test = table["cifar10@200:val"][idx], table["cifar10@200:test"][idx]
    pool = min(100, n_archs)
    out: dict[str, Any] = {"archs": n_archs, "pools": 500, "pool": pool, "k": 10, "proxies": {}}
    pools = [rng.choice(n_archs, pool, replace=False) for _ in range(500)]
    for name in ("naswot@nb201", "zc@naswot", "zc@synflow", "random"):
        t0 = time.perf_counter()
        if name == "random":
            vals = rng.random(n_archs)
        else:
            model = resolve_cost_model(name, sp)
            assert model is not None
            vals = np.array([model(sp.from_index(int(i))) for i in idx])
        secs = (time.perf_counter() - t0) / n_archs
        best, mean = [], []
        for p in pools:
            top = p[np.argsort(-vals[p], kind="stable")[:10]]
            best.append(float(test[top[np.argmax(val[top])]]))
            mean.append(float(test[top].mean()))
        out["proxies"][name] = {
            "spearman_val_accuracy": float(spearmanr(vals, val)[0]) if name != "random" else 0.0,
            "top10_best_test": float(np.mean(best)),
            "top10_mean_test": float(np.mean(mean)),
            "seconds_per_cell": secs,
        }
        log(f"warm {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in out["proxies"][name].items()))
    return out


def part_predictors(trials: int, log: Any) -> dict[str, Any]:
    from hynas.predictors import PREDICTORS
    from hynas.predictors.evaluate import evaluate_predictor, space_data

    x, y = space_data("nb201", "cifar10")
    out: dict[str, Any] = {}
    for name in PREDICTORS.names():
        out[name] = evaluate_predictor(x, y, name, trials=trials, test_size=1000, seed=0)
        log(
            f"predictor {name}: " + ", ".join(f"{r['train_size']}: {r['kendall_tau']:.3f}" for r in out[name])
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--other-seeds", type=int, default=None, help="seeds for CIFAR-100/ImageNet16 (single)")
    ap.add_argument("--mo-seeds", type=int, default=None)
    ap.add_argument("--mf-seeds", type=int, default=None)
    ap.add_argument("--proxy-archs", type=int, default=100)
    ap.add_argument("--warm-archs", type=int, default=300, help="cells for the warm-start part")
    ap.add_argument("--parts", default="single,mo,mf,proxies")
    ap.add_argument("--name", default="search")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--devices", default=",".join(DEVICES))
    ap.add_argument("--strategies", default=",".join(SINGLE), help="single-objective rows to (re)run")
    args = ap.parse_args()
    parts = args.parts.split(",")
    t0 = time.perf_counter()
    res: dict[str, Any] = {"seeds": args.seeds, "budgets": list(BUDGETS)}
    old = RESULTS / f"{args.name}.json"
    if old.exists():  # keep parts measured by an earlier invocation
        res.update({k: v for k, v in json.loads(old.read_text()).items() if k not in ("seeds", "wall_s")})

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:7.1f}s] {msg}", flush=True)

    def save() -> None:
        res["wall_s"] = time.perf_counter() - t0
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{args.name}.json").write_text(json.dumps(res, indent=2))
        (RESULTS / f"{args.name}.md").write_text(write_md(res, BUDGETS, DATASETS, SINGLE))

    if "single" in parts:
        res["other_seeds"] = args.other_seeds or args.seeds
        res.setdefault("single", {})
        part_single(
            args.seeds,
            res["other_seeds"],
            log,
            res["single"],
            save,
            tuple(args.datasets.split(",")),
            tuple(args.strategies.split(",")),
        )
        save()
    if "mo" in parts:
        res["mo_seeds"] = args.mo_seeds or args.seeds
        res.setdefault("mo", {})
        part_mo(res["mo_seeds"], log, res["mo"], tuple(args.devices.split(",")))
        save()
    if "mf" in parts:
        res["mf_seeds"] = args.mf_seeds or args.seeds
        res["mf"] = part_mf(res["mf_seeds"], log)
        save()
    if "proxies" in parts:
        res["proxies"] = part_proxies(args.proxy_archs, log)
        save()
    if "warm" in parts:
        res["warm"] = part_warm(args.warm_archs, log)
        save()
    if "predictors" in parts:
        res["predictor_trials"] = 3
        res["predictors"] = part_predictors(3, log)
        save()
    log("done")


if __name__ == "__main__":
    main()
