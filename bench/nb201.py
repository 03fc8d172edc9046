"""Core benchmark on NAS-Bench-201 × HW-NAS-Bench (issue "hynas core").

1. Single objective: random, REA, local search, NSGA-II and Optuna-TPE, 30 seeds, budgets
   50/100/150/300 queries. CIFAR-10 searches on 200-epoch validation and reports 200-epoch test;
   CIFAR-100 and ImageNet16-120 search on 12-epoch validation and report 12-epoch test. The number
   at budget b is the test accuracy of the architecture with the best validation accuracy among
   the first b queries (strategies do not depend on the budget, so one 300-query run gives all four).
2. Two objectives: validation accuracy × latency on each HW-NAS-Bench device; NSGA-II vs Optuna's
   NSGA-II and TPE (and random), 10 seeds, 300 queries; hypervolume ratio to the exhaustive true
   front (reference point: the worst value of each objective over all 15,625 cells).
3. Overhead per trial (ask + tell + store commit, lookup excluded) against Optuna with SQLite
   storage, same machine, same run.

Every run goes through the real runner and a real SQLite store. Usage::

    python bench/nb201.py              # full protocol (~15-25 min on 2 cores)
    python bench/nb201.py --seeds 3    # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna

from hynas.benchmarks.nb201 import DEVICES  # the HW-NAS-Bench devices
from hynas.core.experiment import ExperimentConfig
from hynas.report.analysis import run_front, true_front
from hynas.runners import run
from hynas.stores import open_store
from hynas.wiring import Experiment

RESULTS = Path(__file__).parent / "results"
BUDGETS = (50, 100, 150, 300)
DATASETS = ("cifar10", "cifar100", "imagenet16-120")
SO_STRATEGIES = ("random", "rea", "local", "nsga2", "optuna-tpe")
MO_STRATEGIES = ("nsga2", "optuna-nsga2", "optuna-tpe", "random")
#: ../shared/REFERENCE.md, NAS-Bench-201 paper as commonly quoted (test accuracy)
PUBLISHED = {
    "REA": {"cifar10": "93.92 ± 0.30", "cifar100": "71.84 ± 0.99", "imagenet16-120": "45.54 ± 1.03"},
    "REINFORCE": {"cifar10": "93.85 ± 0.37", "cifar100": "71.71 ± 1.09", "imagenet16-120": "45.24 ± 1.18"},
    "random search": {
        "cifar10": "93.70 ± 0.36",
        "cifar100": "71.04 ± 1.07",
        "imagenet16-120": "44.57 ± 1.25",
    },
    "BOHB": {"cifar10": "93.61 ± 0.52", "cifar100": "70.85 ± 1.28", "imagenet16-120": "44.42 ± 1.49"},
    "optimum": {"cifar10": "94.37", "cifar100": "73.51", "imagenet16-120": "47.31"},
}


def _run(cfg: ExperimentConfig) -> tuple[Experiment, list, float, float]:
    """Run through the real runner and store; returns (experiment, trials, total s, evaluation s)."""
    exp = Experiment(cfg)
    spent = [0.0]
    evaluate = exp.evaluate

    def timed(cand):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return evaluate(cand)
        finally:
            spent[0] += time.perf_counter() - t

    exp.evaluate = timed  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp, open_store(os.path.join(tmp, "run.db")) as st:
        t = time.perf_counter()
        recs = run(exp, st)
        total = time.perf_counter() - t
    return exp, recs, total, spent[0]


def single_objective(seeds: int, strategies: tuple[str, ...] = SO_STRATEGIES) -> dict:
    out: dict = {}
    for ds in DATASETS:
        for strat in strategies:
            at = {b: [] for b in BUDGETS}
            t0 = time.perf_counter()
            for seed in range(seeds):
                cfg = ExperimentConfig(
                    strategy=strat, dataset=ds, objectives=("accuracy",), budget=max(BUDGETS), seed=seed
                )
                _, recs, _, _ = _run(cfg)
                best = None
                for i, r in enumerate(recs, 1):
                    if best is None or r.metrics["accuracy"] > best.metrics["accuracy"]:
                        best = r
                    if i in at:
                        at[i].append(best.hidden["test_accuracy"])
            out.setdefault(ds, {})[strat] = {
                str(b): {"mean": float(np.mean(v)), "std": float(np.std(v)), "n": len(v)}
                for b, v in at.items()
            }
            print(
                f"[so] {ds:15s} {strat:11s} "
                + " ".join(f"{b}:{np.mean(v):.2f}±{np.std(v):.2f}" for b, v in at.items())
                + f"  ({time.perf_counter() - t0:.0f}s)",
                flush=True,
            )
    return out


def multi_objective(seeds: int, tpe_seeds: int, strategies: tuple[str, ...] = MO_STRATEGIES) -> dict:
    out: dict = {}
    for dev in DEVICES:
        for strat in strategies:
            ratios, secs = [], []
            n = tpe_seeds if strat == "optuna-tpe" else seeds
            if n == 0:
                continue
            for seed in range(n):
                cfg = ExperimentConfig(
                    strategy=strat, objectives=("accuracy", f"latency@{dev}"), budget=300, seed=seed
                )
                exp, recs, total, _ = _run(cfg)
                ratios.append(run_front(exp, recs).hypervolume / true_front(exp).hypervolume)
                secs.append(total)
            out.setdefault(dev, {})[strat] = {
                "median": float(np.median(ratios)),
                "mean": float(np.mean(ratios)),
                "min": float(np.min(ratios)),
                "max": float(np.max(ratios)),
                "n": len(ratios),
                "seconds_per_run": float(np.mean(secs)),
            }
            print(
                f"[mo] {dev:8s} {strat:13s} median HV ratio {np.median(ratios):.4f} "
                f"(min {np.min(ratios):.4f}, {np.mean(secs):.1f}s/run)",
                flush=True,
            )
    return out


def _optuna_overhead(sampler: optuna.samplers.BaseSampler, n: int, directions: list[str]) -> float:
    """Seconds per trial for Optuna ask (+ suggest) and tell with SQLite storage, lookup excluded."""
    from hynas.evaluators.tabular import NB201Tabular

    ev = NB201Tabular("cifar10")
    space = ev.space
    with tempfile.TemporaryDirectory() as tmp:
        storage = optuna.storages.RDBStorage(f"sqlite:///{tmp}/optuna.db")
        study = optuna.create_study(storage=storage, sampler=sampler, directions=directions)
        spent = 0.0
        for _ in range(n):
            t = time.perf_counter()
            trial = study.ask()
            genes = [trial.suggest_categorical(d.name, list(range(len(d.choices)))) for d in space.dims]
            spent += time.perf_counter() - t
            e = ev.evaluate(space.make(genes))  # lookup: excluded
            vals = [e.metrics["accuracy"], e.metrics["latency@raspi4"]][: len(directions)]
            t = time.perf_counter()
            study.tell(trial, vals)
            spent += time.perf_counter() - t
        del storage
    return spent / n


def overhead(n: int = 300) -> dict:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = {}
    pairs = [
        ("random", lambda: optuna.samplers.RandomSampler(seed=0), "RandomSampler"),
        ("nsga2", lambda: optuna.samplers.NSGAIISampler(seed=0, population_size=20), "NSGAIISampler"),
    ]
    for ours, make, theirs in pairs:
        cfg = ExperimentConfig(strategy=ours, objectives=("accuracy", "latency@raspi4"), budget=n, seed=0)
        _, _, total, evals = _run(cfg)
        o = (total - evals) / n
        p = _optuna_overhead(make(), n, ["maximize", "minimize"])
        out[ours] = {"hynas_ms": o * 1e3, "optuna": theirs, "optuna_ms": p * 1e3, "ratio": o / p}
        print(
            f"[overhead] hynas {ours}: {o * 1e3:.3f} ms/trial; Optuna {theirs} + SQLite: {p * 1e3:.3f} ms/trial; "
            f"ratio {o / p:.3f}",
            flush=True,
        )
    return out


def markdown(res: dict) -> str:
    lines = ["### Single objective: test accuracy of the best-by-validation architecture (mean ± std)", ""]
    so = res.get("single_objective", {})
    for ds, strats in so.items():
        n = next(iter(next(iter(strats.values())).values()))["n"]
        lines += [
            f"**{ds}** ({n} seeds; search on {'200' if ds == 'cifar10' else '12'}-epoch validation, "
            f"report {'200' if ds == 'cifar10' else '12'}-epoch test)",
            "",
            "| strategy | " + " | ".join(f"{b} queries" for b in BUDGETS) + " |",
            "|---|" + "---|" * len(BUDGETS),
        ]
        for s, row in strats.items():
            lines.append(
                f"| {s} | "
                + " | ".join(f"{row[str(b)]['mean']:.2f} ± {row[str(b)]['std']:.2f}" for b in BUDGETS)
                + " |"
            )
        if ds == "cifar10":
            lines.append(
                "| *REFERENCE.md: random search, same table (2,000 repeats)* | 93.61 ± 0.36 | 93.78 ± 0.28 | 93.85 ± 0.25 | 93.96 ± 0.23 |"
            )
        for name, vals in PUBLISHED.items():
            lines.append(f"| *published {name} (NB201 paper, 200 ep)* | | | | {vals[ds]} |")
        lines.append("")
    mo = res.get("multi_objective", {})
    if mo:
        lines += [
            "### Two objectives: validation accuracy × device latency, 300 queries, hypervolume ratio to the true front",
            "",
            "| device | " + " | ".join(MO_STRATEGIES) + " | nsga2 ÷ best Optuna (median) |",
            "|---|" + "---|" * (len(MO_STRATEGIES) + 1),
        ]
        for dev, strats in mo.items():
            best_optuna = max(v["median"] for k, v in strats.items() if k.startswith("optuna"))
            lines.append(
                f"| {dev} | "
                + " | ".join(
                    f"{strats[s]['median']:.4f} (min {strats[s]['min']:.4f})" if s in strats else "not run"
                    for s in MO_STRATEGIES
                )
                + f" | {strats['nsga2']['median'] / best_optuna:.4f} |"
            )
        ns = ", ".join(f"{s} {v['n']}" for s, v in next(iter(mo.values())).items())
        lines += [
            "",
            f"Median (and minimum) over seeds ({ns}). Reference point: worst accuracy and worst latency over all 15,625 cells.",
            "",
        ]
    oh = res.get("overhead", {})
    if oh:
        lines += [
            "### Overhead per trial (ask + tell + store commit, lookup excluded)",
            "",
            "| hynas strategy + SQLite store | ms/trial | Optuna sampler + SQLite storage | ms/trial | ratio |",
            "|---|---|---|---|---|",
        ]
        for s, v in oh.items():
            lines.append(
                f"| {s} | {v['hynas_ms']:.3f} | {v['optuna']} | {v['optuna_ms']:.3f} | {v['ratio']:.3f} |"
            )
        lines.append("")
    lines.append(f"Measured on {res['machine']} ({res['date']}).")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--mo-seeds", type=int, default=10)
    ap.add_argument(
        "--mo-tpe-seeds", type=int, default=None, help="seeds for Optuna TPE (slow at 300 trials)"
    )
    ap.add_argument("--parts", default="so,mo,overhead")
    ap.add_argument("--strategies", default=None, help="rerun only these (comma-separated); others are kept")
    args = ap.parse_args()
    only = tuple(args.strategies.split(",")) if args.strategies else None
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "nb201.json"
    # a partial rerun (--parts) keeps the other parts' committed numbers
    res: dict = json.loads(out.read_text()) if out.exists() else {}
    res["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    res["date"] = time.strftime("%Y-%m-%d")
    parts = args.parts.split(",")
    for part, key, fn in (
        ("so", "single_objective", lambda: single_objective(args.seeds, only or SO_STRATEGIES)),
        (
            "mo",
            "multi_objective",
            lambda: multi_objective(
                args.mo_seeds,
                args.mo_seeds if args.mo_tpe_seeds is None else args.mo_tpe_seeds,
                only or MO_STRATEGIES,
            ),
        ),
        ("overhead", "overhead", overhead),
    ):
        if part in parts:
            new = fn()
            if only and key in res:  # merge the rerun strategies into the kept table
                for group, strats in new.items():
                    res[key].setdefault(group, {}).update(strats)
            else:
                res[key] = new
            out.write_text(json.dumps(res, indent=2))  # each finished part is kept at once
    md = markdown(res)
    (RESULTS / "nb201.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
