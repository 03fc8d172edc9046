"""Differentiable and path-sampling NAS (``hynas.differentiable``): what each method finds and costs.

Parts:

- ``nb201``: the NB201 cell searched on Fashion-MNIST by darts, darts2, pcdarts, gdas, fbnet and
  proxyless (seeds ``--seeds``, ``--epochs`` epochs of ``--steps`` steps on ``--train-images``
  images). For each derived cell: (a) its NB201 CIFAR-10 test accuracy from the shipped table (the
  trials' hidden ``test_accuracy``, 200 epochs), (b) its Fashion-MNIST test accuracy trained
  stand-alone (``--standalone-steps`` SGD steps, batch 64, lr 0.05 cosine, the search's channels and
  cells, first 2,000 test images), (c) its number of ``skip_connect`` and of parameter-free
  operations (``none``, ``skip_connect``, ``avg_pool_3x3``), per epoch (does DARTS drift toward skips?).
  Beside them REA and BANANAS searching the table's CIFAR-10 validation accuracy at equal wall-clock
  cost: as many queries as the method's mean search time buys at the measured stand-alone training
  time of one cell (at least 1), and at 50 queries for context.
- ``mobile``: FBNet and ProxylessNAS on the ``mobile`` space with three targets on
  ``latency@roofline:raspi4`` (``--target-style``: ``absolute``, TuNAS's two-sided term, by
  default; ``--cost-estimate``: ``derived``, the term on the derived network, by default;
  ``--entropy`` 2 and ``--mobile-arch-lr`` 0.05, so that α settles within the short search; FBNet's
  last Gumbel temperature ``--fbnet-tau-min`` 1, since at 0.1 its soft gates are nearly one-hot
  and the architecture gradient's variance, which grows as 1/τ, swings the derived network from
  epoch to epoch): the found (last epoch's) network's latency and whether it lies within 10 % of
  the target; its accuracy (the ``mobile-fmnist`` evaluator at ``--eval-steps`` steps) vs the best
  network NSGA-II finds with the constraint ``latency <= target`` and the same wall-clock budget
  (``budget_seconds`` = the larger of the target's two measured search times, the evaluator's cost
  is its wall time; a cached NSGA-II row that ran with a larger budget is reused).

Each search runs in a fresh process (spawn), so its wall time and peak resident memory
(``ru_maxrss``) are its own; ``--jobs`` of them run at once (one CPU thread each). Every finished
search is kept in ``bench/results/<out>_cache.json``, so a run cut short goes on where it stopped
(delete the file to measure afresh). Measures, never asserts. Writes ``bench/results/<out>.json``
and ``.md``. Run: ``python bench/differentiable.py --jobs 2`` (the defaults: 5 seeds, 10 epochs of
20 NB201 steps, 500 stand-alone steps; 8 mobile epochs of 20 steps; about 1 hour for the NB201 part
and 1 for the mobile part on 2 CPU cores), or ``--quick`` (minutes) to check the pipeline. A
longer NB201 search for the skip-drift question, kept apart from the main results:
``python bench/differentiable.py --parts nb201 --methods darts,pcdarts,gdas --seeds 1 --epochs 50
--steps 100 --out differentiable_long --jobs 2`` (about 1 CPU-hour a search).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jsonfile import write_atomic

os.environ.setdefault("OMP_NUM_THREADS", "1")

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("darts", "darts2", "pcdarts", "gdas", "fbnet", "proxyless")
PARAM_FREE = ("none", "skip_connect", "avg_pool_3x3")
LATENCY = "latency@roofline:raspi4"


class Rows:
    """Every finished search in ``bench/results/<out>_cache.json``, keyed by what made it, so that a
    run cut short keeps its rows and the next one goes on; ``--jobs`` searches run at once, each in
    a fresh spawned process (its wall time and peak RSS are its own)."""

    def __init__(self, path: Path, jobs: int) -> None:
        self.path, self.jobs = path, jobs
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def run(self, tasks: list[tuple[Any, ...]]) -> list[Any]:
        """``fn(*args)`` for each ``(fn, *args)``, in order; cached ones are not rerun."""
        keys = [json.dumps([t[0].__name__, *t[1:]], sort_keys=True) for t in tasks]
        todo = [(k, t) for k, t in zip(keys, tasks, strict=True) if k not in self.data]
        if todo:
            with mp.get_context("spawn").Pool(self.jobs, maxtasksperchild=1) as pool:
                pending = [(k, pool.apply_async(t[0], t[1:])) for k, t in dict(todo).items()]
                for k, res in pending:
                    self.data[k] = res.get()
                    print(k, "->", json.dumps(self.data[k])[:300], flush=True)
                    write_atomic(self.path, self.data)
        return [self.data[k] for k in keys]


def _ops(arch: str) -> list[str]:
    return [e.split("~")[0] for e in arch.strip("|").replace("|+|", "|").split("|")]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def standalone(arch: str, seed: int, steps: int, channels: int, cells: int) -> tuple[float, float]:
    """Fashion-MNIST test accuracy (%) of the cell trained alone, and the training seconds."""
    import numpy as np
    import torch

    from hynas.differentiable.layout import layout_for
    from hynas.differentiable.supernet import NB201Supernet
    from hynas.models.nb201_cell import OPS
    from hynas.spaces import get_space
    from hynas.training.data import load_images

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    lay = layout_for(get_space("nb201"), "standalone")
    gates = [(torch.ones(5), [OPS.index(op)]) for op in _ops(arch)]
    net = NB201Supernet(lay, channels, cells)
    a = load_images("fashion-mnist").arrays

    def t(x: Any) -> Any:
        return (
            (torch.as_tensor(x.astype(np.float32) / 255.0) - float(a["mean"])) / float(a["std"])
        ).unsqueeze(1)

    x, y = t(a["train_x"]), torch.as_tensor(a["train_y"])
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4, nesterov=True)
    rng = np.random.default_rng(seed)
    for i in range(steps):
        for g in opt.param_groups:
            g["lr"] = 0.05 * 0.5 * (1 + math.cos(math.pi * i / steps))
        idx = torch.as_tensor(rng.integers(0, len(x), 64))
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x[idx], gates), y[idx]).backward()
        opt.step()
    train_s = time.perf_counter() - t0
    xt, yt = t(a["test_x"][:2000]), torch.as_tensor(a["test_y"][:2000])
    with torch.no_grad():
        right = sum(
            int((net(xt[s : s + 500], gates).argmax(1) == yt[s : s + 500]).sum()) for s in range(0, 2000, 500)
        )
    return 100.0 * right / 2000, train_s


def nb201_run(method: str, seed: int, cfg: dict[str, Any]) -> dict[str, Any]:
    import hynas

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        study = hynas.search(
            space="nb201", strategy=method, budget=cfg["epochs"], seed=seed, objectives=("accuracy",),
            strategy_options=cfg["options"], store=str(Path(tmp) / "s.db"),
        )  # fmt: skip
        wall = time.perf_counter() - t0
        hist = json.loads((Path(tmp) / "s-differentiable" / "alphas.json").read_text())
    epochs = []
    for t, h in zip(study, hist["epochs"], strict=True):
        ops = _ops(t.arch)
        epochs.append({
            "arch": t.arch, "cifar10_test": t.hidden["test_accuracy"], "oneshot_val": t.metrics["oneshot_val_accuracy"],
            "skips": ops.count("skip_connect"), "param_free": sum(ops.count(o) for o in PARAM_FREE),
            "skip_share": round(h["op_mix"]["skip_connect"], 4),
        })  # fmt: skip
    fm, fm_s = standalone(
        study[-1].arch, seed, cfg["standalone_steps"], cfg["options"]["channels"], cfg["options"]["cells"]
    )
    return {"method": method, "seed": seed, "wall_s": round(wall, 1), "peak_mb": round(_peak_mb()), "epochs": epochs,
            "final": {**epochs[-1], "fmnist_standalone": fm, "standalone_train_s": round(fm_s, 1)}}  # fmt: skip


def blackbox_run(strategy: str, seed: int, budget: int) -> dict[str, Any]:
    import hynas

    study = hynas.search(space="nb201", strategy=strategy, budget=budget, seed=seed, objectives=("accuracy",))
    best = study.best("accuracy")
    ops = _ops(best.arch)
    return {"strategy": strategy, "seed": seed, "queries": budget, "arch": best.arch,
            "cifar10_test": best.hidden["test_accuracy"], "skips": ops.count("skip_connect"),
            "param_free": sum(ops.count(o) for o in PARAM_FREE)}  # fmt: skip


def mobile_run(method: str, target: float, seed: int, cfg: dict[str, Any]) -> dict[str, Any]:
    import hynas

    opts = {**cfg["options"], "cost": LATENCY, "target": target}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        study = hynas.search(
            space="mobile", strategy=method, budget=cfg["epochs"], seed=seed, objectives=("accuracy", LATENCY),
            strategy_options=opts, evaluator_options=cfg["evaluator"], store=str(Path(tmp) / "m.db"),
        )  # fmt: skip
        wall = time.perf_counter() - t0
    last = study[-1]
    lat = last.metrics[LATENCY]
    return {"method": method, "target": target, "seed": seed, "arch": last.arch, "latency": round(lat, 2),
            "rel_err": round(lat / target - 1, 4), "within_10pct": abs(lat / target - 1) <= 0.10,
            "accuracy": last.metrics["accuracy"], "wall_s": round(wall, 1), "peak_mb": round(_peak_mb())}  # fmt: skip


def nsga2_run(target: float, seconds: float, seed: int, cfg: dict[str, Any]) -> dict[str, Any]:
    import hynas

    t0 = time.perf_counter()
    study = hynas.search(
        space="mobile", strategy="nsga2", budget=None, budget_seconds=seconds, seed=seed,
        objectives=("accuracy", LATENCY), constraints=(f"{LATENCY} <= {target}",), evaluator_options=cfg["evaluator"],
    )  # fmt: skip
    feasible = [t for t in study if t.ok and t.metrics[LATENCY] <= target]
    best = max(feasible, key=lambda t: t.metrics["accuracy"], default=None)
    return {"target": target, "queries": len(study), "wall_s": round(time.perf_counter() - t0, 1),
            "best_accuracy": None if best is None else best.metrics["accuracy"],
            "best_latency": None if best is None else round(best.metrics[LATENCY], 2), "peak_mb": round(_peak_mb())}  # fmt: skip


def part_nb201(a: argparse.Namespace) -> dict[str, Any]:
    cfg = {"epochs": a.epochs, "standalone_steps": a.standalone_steps, "options": {
        "train_images": a.train_images, "val_images": a.train_images // 2, "eval_images": 1000, "batch": a.batch,
        "steps": a.steps, "channels": 8, "cells": 1}}  # fmt: skip
    runs = a.rows.run([(nb201_run, m, seed, cfg) for m in a.methods for seed in range(a.seeds)])
    wall = statistics.mean(r["wall_s"] for r in runs)
    per_query = statistics.mean(r["final"]["standalone_train_s"] for r in runs)
    equal = max(1, int(wall / per_query))
    bb = a.rows.run([
        (blackbox_run, s, seed, q) for s in ("rea", "bananas") for q in sorted({equal, 50}) for seed in range(a.seeds)
    ])  # fmt: skip
    return {"config": cfg, "equal_queries": equal, "mean_search_s": round(wall, 1),
            "standalone_s_per_cell": round(per_query, 1), "runs": runs, "blackbox": bb}  # fmt: skip


def part_mobile(a: argparse.Namespace) -> dict[str, Any]:
    cfg = {"epochs": a.mobile_epochs, "evaluator": {"steps": [a.eval_steps], "eval_images": 300, "bn_images": 200},
           "options": {"train_images": 2000, "val_images": 1000, "eval_images": 300, "batch": 32,
                       "steps": a.mobile_steps, "warmup": 0, "target_style": a.target_style,
                       "cost_estimate": a.cost_estimate, "entropy": a.entropy, "arch_lr": a.mobile_arch_lr}}  # fmt: skip
    own = {"fbnet": {"tau_min": a.fbnet_tau_min}, "proxyless": {}}
    rows = a.rows.run([
        (mobile_run, m, t, 0, {**cfg, "options": {**cfg["options"], **own[m]}})
        for t in a.targets for m in ("fbnet", "proxyless")
    ])  # fmt: skip
    walls = {t: max(r["wall_s"] for r in rows if r["target"] == t) for t in a.targets}
    budgets = {t: nsga2_budget(a.rows, t, walls[t], cfg, a.nsga2_cached) for t in a.targets}
    bb = a.rows.run([(nsga2_run, t, budgets[t], 0, cfg) for t in a.targets])
    short = {str(t): budgets[t] for t in a.targets if budgets[t] < walls[t]}
    return {"config": {**cfg, "per_method": own}, "runs": rows, "nsga2": bb, "nsga2_short_budget": short}


def nsga2_budget(rows: Rows, target: float, need: float, cfg: dict[str, Any], cached: bool = False) -> float:
    """The wall budget of NSGA-II at ``target``: ``need`` (the larger of the target's two search
    times), or the smallest budget of at least that which a cached NSGA-II row already ran with (it
    had at least the same time). With ``cached``, failing that, the largest budget a cached row ran
    with (less time than the searches; the table shows both)."""
    ran = [json.loads(k) for k in rows.data]
    have = [k[2] for k in ran if k[0] == "nsga2_run" and k[1] == target and k[3:] == [0, cfg]]
    enough = [b for b in have if b >= need]
    if enough or not cached or not have:
        return min(enough, default=need)
    return max(have)


def _save(a: argparse.Namespace, res: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    out = {"command": " ".join(["python bench/differentiable.py", *sys.argv[1:]]), "note": a.note, **res}
    (RESULTS / f"{a.out}.json").write_text(json.dumps(out, indent=1))
    write_md(out, RESULTS / f"{a.out}.md")


def _per_epoch(rs: list[dict[str, Any]], key: str, digits: int, most: int = 10) -> str:
    """The mean of ``key`` over the runs ``rs`` per epoch: every epoch up to ``most``, else every
    ``ceil(n / most)``-th and the last, as ``epoch: value`` (1-based)."""
    n = len(rs[0]["epochs"])
    step = math.ceil(n / most)
    picks = sorted({*range(step - 1, n, step), n - 1}) if n > most else range(n)
    mean = [round(statistics.mean(r["epochs"][e][key] for r in rs), digits) for e in picks]
    return ", ".join(f"{e + 1}: {v:g}" for e, v in zip(picks, mean, strict=True))


def write_md(res: dict[str, Any], path: Path) -> None:
    out = ["# Differentiable NAS benchmark", "", f"Command: `{res['command']}`; {res['note']}", ""]
    if "nb201" in res:
        n = res["nb201"]
        out += ["## NB201 cell on Fashion-MNIST", "", f"Settings: `{json.dumps(n['config'])}`", "",
                "Per epoch (mean over seeds; with more than 10 epochs, every few epochs and the last, as `epoch: value`): "
                "the derived cell's skip connections, and the share of α's softmax weight on `skip_connect` over all edges.", "",
                "| method | seeds | CIFAR-10 test (table) | FMNIST stand-alone | skips | param-free | skips per epoch | α skip share per epoch | search s | peak MB |",
                "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for m in METHODS:
            rs = [r for r in n["runs"] if r["method"] == m]
            if not rs:
                continue
            mean = lambda k, rs=rs: statistics.mean(r["final"][k] for r in rs)  # noqa: E731
            drift = _per_epoch(rs, "skips", 1)
            share = _per_epoch(rs, "skip_share", 3)
            out.append(f"| {m} | {len(rs)} | {mean('cifar10_test'):.2f} | {mean('fmnist_standalone'):.2f} | "
                       f"{mean('skips'):.1f} | {mean('param_free'):.1f} | {drift} | {share} | "
                       f"{statistics.mean(r['wall_s'] for r in rs):.0f} | {max(r['peak_mb'] for r in rs)} |")  # fmt: skip
        out += ["", f"Black-box at equal wall-clock: {n['equal_queries']} queries (mean search {n['mean_search_s']} s / "
                f"{n['standalone_s_per_cell']} s per stand-alone cell), and 50 queries for context:", "",
                "| strategy | queries | CIFAR-10 test (table) | skips | param-free |", "|---|---|---|---|---|"]  # fmt: skip
        for s in ("rea", "bananas"):
            for q in sorted({r["queries"] for r in n["blackbox"]}):
                rs = [r for r in n["blackbox"] if r["strategy"] == s and r["queries"] == q]
                out.append(f"| {s} | {q} | {statistics.mean(r['cifar10_test'] for r in rs):.2f} | "
                           f"{statistics.mean(r['skips'] for r in rs):.1f} | {statistics.mean(r['param_free'] for r in rs):.1f} |")  # fmt: skip
    if "mobile" in res:
        m = res["mobile"]
        out += ["", f"## Latency-targeted search on mobile ({LATENCY})", "", f"Settings: `{json.dumps(m['config'])}`", "",
                "NSGA-II's wall budget is the larger of the target's two search times, or a cached NSGA-II run's larger one (at least the same time).", "",
                "| method | target ms | found ms | error | within 10 % | accuracy | search s | peak MB | NSGA-II best accuracy under the limit | NSGA-II s | NSGA-II queries |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for t, b in m.get("nsga2_short_budget", {}).items():
            out.insert(
                -3,
                f"At {t} ms NSGA-II is the cached run with a budget of {b:.0f} s, less than the searches' time (`--nsga2-cached`).",
            )
        for r in m["runs"]:
            nb = next(
                (b for b in m["nsga2"] if b["target"] == r["target"]),
                {"best_accuracy": "not run", "queries": "-", "wall_s": "-"},
            )
            best = nb["best_accuracy"]
            if best is None:
                best = "none under the limit"
            elif not isinstance(best, str):
                best = f"{best:.1f} ({nb['best_latency']} ms)"
            out.append(f"| {r['method']} | {r['target']} | {r['latency']} | {100 * r['rel_err']:+.1f} % | {r['within_10pct']} | "
                       f"{r['accuracy']:.1f} | {r['wall_s']:.0f} | {r['peak_mb']} | {best} | {nb['wall_s']} | {nb['queries']} |")  # fmt: skip
    path.write_text("\n".join(out) + "\n")


def main() -> None:
    from hynas.differentiable.cost import ESTIMATES, TARGET_STYLES  # after OMP_NUM_THREADS is set

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="1 seed, 2 epochs of 4 steps, 1 mobile epoch of 2 steps"
    )
    ap.add_argument("--parts", default="nb201,mobile")
    ap.add_argument("--out", default="differentiable", help="results name: bench/results/OUT.json and .md")
    ap.add_argument("--methods", default=",".join(METHODS), help="nb201: comma-separated methods")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--steps", type=int, default=20, help="steps per epoch (nb201)")
    ap.add_argument("--train-images", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--standalone-steps", type=int, default=500)
    ap.add_argument("--mobile-epochs", type=int, default=8)
    ap.add_argument("--mobile-steps", type=int, default=20)
    ap.add_argument("--eval-steps", type=int, default=100)
    ap.add_argument("--targets", type=float, nargs=3, default=[22.0, 28.0, 34.0])
    ap.add_argument("--target-style", default="absolute", choices=TARGET_STYLES,
                    help="the hardware term around the target (absolute: land on it, TuNAS)")  # fmt: skip
    ap.add_argument(
        "--cost-estimate",
        default="derived",
        choices=ESTIMATES,
        help="what the hardware term penalises (derived: the derived network, straight-through)",
    )
    ap.add_argument("--entropy", type=float, default=2.0, help="weight of the entropy term (mobile)")
    ap.add_argument("--mobile-arch-lr", type=float, default=0.05, help="architecture learning rate (mobile)")
    ap.add_argument(
        "--fbnet-tau-min", type=float, default=1.0, help="FBNet's last Gumbel temperature (mobile)"
    )
    ap.add_argument(
        "--nsga2-cached",
        action="store_true",
        help="reuse each target's cached NSGA-II run even if its budget is below the searches' time",
    )
    ap.add_argument("--note", default="", help="how and where it ran, for the results' header")
    ap.add_argument("--jobs", type=int, default=1, help="searches at once, each in its own process")
    a = ap.parse_args()
    a.methods = a.methods.split(",")
    if not set(a.methods) <= set(METHODS):
        sys.exit(f"unknown methods {sorted(set(a.methods) - set(METHODS))}; valid: {', '.join(METHODS)}")
    if a.quick:  # what fitted in the time left on a shared 2-core machine at load average 10
        a.seeds, a.epochs, a.steps, a.train_images, a.batch, a.standalone_steps = 1, 2, 4, 400, 32, 40
        a.mobile_epochs, a.mobile_steps, a.eval_steps = 1, 2, 10
    a.note = ("QUICK MODE: small epochs, steps and seeds; numbers show the pipeline, not converged searches"
              if a.quick else a.note or "the settings below")  # fmt: skip
    a.rows = Rows(RESULTS / f"{a.out}_cache.json", a.jobs)
    res: dict[str, Any] = {}
    t0 = time.time()
    for part, fn in (("nb201", part_nb201), ("mobile", part_mobile)):
        if part in a.parts:
            res[part] = fn(a)
            res["total_s"] = round(time.time() - t0)
            _save(a, res)  # after each part


if __name__ == "__main__":
    main()
