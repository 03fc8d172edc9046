"""Scale-out benchmark (issue 6): many writers on one store, and Ray on a real-training evaluator.

Part A, load: 8 worker processes write 10,000 tabular NB201 trials into one store (each trial:
claim a number, evaluate a random architecture from the tabular benchmark, commit the result), on
SQLite and on PostgreSQL; then Optuna does the same work (8 processes, ``study.optimize`` with the
random sampler and the same tabular lookup) on RDBStorage over the same SQLite file type and the same
PostgreSQL server, in the same run. Reports trials/s and lost writes (trials that a worker wrote but
the store does not hold as finished, or numbers missing/duplicated).

Part B, Ray: per-trial overhead of the Ray runner against the in-process sequential runner on a
trivial (tabular) evaluator, and the speed-up from 1 to 2 workers on a real-training evaluator (a
small PyTorch MLP trained for a fixed number of steps per trial), next to the local process pool.

Measures, never asserts. Writes bench/results/scale.json and bench/results/scale.md.

    nice -n 10 python bench/scale.py                 # ~10 minutes on a 2-core shared machine
    nice -n 10 python bench/scale.py --trials 800     # quicker
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
import zlib
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from hynas.core.arch import Architecture
from hynas.core.evaluator import Evaluation, Evaluator, Metric
from hynas.core.experiment import ExperimentConfig
from hynas.core.store import TrialRecord
from hynas.runners import RunOptions, run
from hynas.stores import open_store
from hynas.wiring import Experiment

OUT = Path(__file__).parent / "results"
PG = os.environ.get("HYNAS_TEST_POSTGRES", "postgresql://hynas:hynas@127.0.0.1:5432/hynas_test")
CFG = ExperimentConfig(strategy="random", objectives=("accuracy",), budget=10, seed=0)
_EXP: list[Experiment] = []  # built once in the parent; forked writers inherit it


def _experiment() -> Experiment:
    if not _EXP:
        _EXP.append(Experiment(CFG))
    return _EXP[0]


# -- part A: load ----------------------------------------------------------------------------------
def _hynas_writer(location: str, n: int, seed: int, out: Any) -> None:
    import numpy as np

    exp = _experiment()
    rng = np.random.default_rng(seed)
    wrote = 0
    with open_store(location) as st:
        for _ in range(n):
            arch = exp.space.sample(rng)
            number = st.claim(str(arch), worker=str(seed))
            ev = exp.evaluator.evaluate(arch)
            t = time.time()
            st.finish(
                TrialRecord(
                    number,
                    str(arch),
                    "completed",
                    None,
                    dict(ev.metrics),
                    dict(ev.hidden),
                    ev.cost_s,
                    "",
                    t,
                    t,
                )
            )
            wrote += 1
    out.put(wrote)


def hynas_load(location: str, trials: int, workers: int) -> dict[str, Any]:
    open_store(location).close()
    _experiment()
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    per = trials // workers
    t0 = time.perf_counter()
    procs = [ctx.Process(target=_hynas_writer, args=(location, per, k, q)) for k in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    wrote = sum(q.get() for _ in procs if not q.empty())
    with open_store(location) as st:
        recs = st.trials()
        running = [s for s in st.schedule() if s.told_seq is None]
    numbers = [r.number for r in recs]
    expected = per * workers
    lost = expected - len(recs) + len(running) + (len(numbers) - len(set(numbers)))
    return {
        "trials": expected,
        "stored": len(recs),
        "worker_reported": wrote,
        "dense_numbers": numbers == list(range(expected)),
        "lost_writes": lost,
        "failed_workers": sum(p.exitcode != 0 for p in procs),
        "wall_s": wall,
        "trials_per_s": len(recs) / wall,
    }


def _optuna_writer(url: str, study: str, n: int, seed: int, out: Any) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    exp = _experiment()
    space = exp.space
    storage = optuna.storages.RDBStorage(
        url, engine_kwargs={"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    )
    s = optuna.load_study(study_name=study, storage=storage, sampler=optuna.samplers.RandomSampler(seed=seed))
    errors = 0

    def objective(trial: Any) -> float:
        genes = [trial.suggest_int(d.name, 0, len(d) - 1) for d in space.dims]
        return float(exp.evaluator.evaluate(space.make(genes)).metrics["accuracy"])

    done = 0
    for _ in range(n):
        try:
            s.optimize(objective, n_trials=1)
            done += 1
        except Exception:
            errors += 1
    out.put((done, errors))


def optuna_load(url: str, trials: int, workers: int) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    name = f"bench{int(time.time())}"
    optuna.create_study(study_name=name, storage=url, direction="maximize")
    _experiment()
    import sqlalchemy  # noqa: F401 - imported before forking, like hynas's store code

    ctx = mp.get_context("fork")
    q = ctx.Queue()
    per = trials // workers
    t0 = time.perf_counter()
    procs = [ctx.Process(target=_optuna_writer, args=(url, name, per, k, q)) for k in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    results = [q.get() for _ in procs if not q.empty()]
    study = optuna.load_study(study_name=name, storage=url)
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    expected = per * workers
    optuna.delete_study(study_name=name, storage=url)
    return {
        "trials": expected,
        "stored": len(complete),
        "worker_reported": sum(d for d, _ in results),
        "worker_errors": sum(e for _, e in results),
        "lost_writes": expected - len(complete),
        "failed_workers": sum(p.exitcode != 0 for p in procs),
        "wall_s": wall,
        "trials_per_s": len(complete) / wall,
    }


# -- part B: Ray -------------------------------------------------------------------------------------
class TrainEvaluator(Evaluator):
    """Trains a small MLP (width and depth from the architecture) on a fixed synthetic task."""

    def __init__(self, space: Any, steps: int = 1500) -> None:
        self.space = space
        self.steps = steps

    def metrics(self) -> dict[str, Metric]:
        return {"accuracy": Metric("accuracy", "max", "%")}

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Evaluation:
        import torch

        torch.set_num_threads(1)
        g = torch.Generator().manual_seed(0)
        x = torch.randn(2048, 64, generator=g)
        w = torch.randn(64, 10, generator=g)
        y = (x @ w + 0.5 * torch.randn(2048, 10, generator=g)).argmax(1)
        torch.manual_seed(zlib.crc32(str(arch).encode()))
        width = 64 + 32 * sum(arch.genes[:3])
        depth = 1 + arch.genes[3] % 3
        layers: list[torch.nn.Module] = []
        d = 64
        for _ in range(depth):
            layers += [torch.nn.Linear(d, width), torch.nn.ReLU()]
            d = width
        model = torch.nn.Sequential(*layers, torch.nn.Linear(d, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        t0 = time.perf_counter()
        for _ in range(self.steps):
            idx = torch.randint(0, 1536, (128,))
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = float((model(x[1536:]).argmax(1) == y[1536:]).float().mean() * 100)
        return Evaluation({"accuracy": acc}, cost_s=time.perf_counter() - t0)


def timed_run(tmp: Path, name: str, opts: RunOptions, budget: int, train: bool) -> dict[str, Any]:
    cfg = ExperimentConfig(strategy="random", objectives=("accuracy",), budget=budget, seed=1)
    exp = Experiment(cfg)
    if train:
        exp.evaluator = TrainEvaluator(exp.space)
    path = tmp / f"{name}.db"
    t0 = time.perf_counter()
    with open_store(str(path)) as st:
        recs = run(exp, st, options=opts)
    wall = time.perf_counter() - t0
    return {
        "trials": len(recs),
        "ok": sum(r.ok for r in recs),
        "wall_s": wall,
        "eval_s": sum(r.cost_s for r in recs) if train else None,
    }


def ray_part(tmp: Path, trivial: int, train_trials: int) -> dict[str, Any]:
    import ray
    import torch  # noqa: F401 - imported before timing (the forked pool workers inherit it)

    out: dict[str, Any] = {}
    # Ray start-up, measured on its own so the per-trial overhead excludes it
    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 2**20)
    out["ray_init_s"] = time.perf_counter() - t0
    seq = timed_run(tmp, "seq", RunOptions(), trivial, train=False)
    r1 = timed_run(tmp, "ray1", RunOptions(runner="ray", workers=1), trivial, train=False)
    out["overhead"] = {
        "trials": trivial,
        "sequential_s": seq["wall_s"],
        "ray_1_worker_s": r1["wall_s"],
        "overhead_per_trial_ms": 1000 * (r1["wall_s"] - seq["wall_s"]) / trivial,
    }
    curve = {}
    for label, opts in [
        ("sequential", RunOptions()),
        ("pool-1", RunOptions(workers=1, runner="pool")),
        ("pool-2", RunOptions(workers=2)),
        ("ray-1", RunOptions(runner="ray", workers=1)),
        ("ray-2", RunOptions(runner="ray", workers=2)),
    ]:
        curve[label] = timed_run(tmp, f"train-{label}", opts, train_trials, train=True)
        print(f"  {label}: {curve[label]['wall_s']:.1f} s", flush=True)
    ray.shutdown()
    out["train_curve"] = curve
    out["speedup_ray_1_to_2"] = curve["ray-1"]["wall_s"] / curve["ray-2"]["wall_s"]
    out["speedup_pool_1_to_2"] = curve["pool-1"]["wall_s"] / curve["pool-2"]["wall_s"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument(
        "--optuna-trials",
        type=int,
        default=1000,
        help="trials for the Optuna peer (it writes ~5 trials/s on SQLite here: 10,000 would take 30 min)",
    )
    ap.add_argument("--train-trials", type=int, default=12)
    ap.add_argument("--skip", default="", help="comma list of parts to skip: sqlite,postgres,optuna,ray")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="hynas-scale-"))
    res: dict[str, Any] = {
        "trials": args.trials,
        "optuna_trials": args.optuna_trials,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "load": {},
    }
    load = res["load"]
    previous = OUT / "scale.json"
    if skip and previous.exists():  # a partial rerun keeps the other parts' last results
        old = json.loads(previous.read_text())
        for k, v in old.items():
            if k not in ("load", "ray") and k not in res:
                res[k] = v
        load.update(old.get("load", {}))
        if "ray" in skip and "ray" in old:
            res["ray"] = old["ray"]
    if "sqlite" not in skip:
        load["hynas-sqlite"] = hynas_load(str(tmp / "load.db"), args.trials, args.workers)
        print("hynas sqlite", load["hynas-sqlite"], flush=True)
        if "optuna" not in skip:
            load["optuna-sqlite"] = optuna_load(
                f"sqlite:///{tmp / 'optuna.db'}", args.optuna_trials, args.workers
            )
            print("optuna sqlite", load["optuna-sqlite"], flush=True)
    if "postgres" not in skip:
        from hynas.stores.postgres import PostgresStore

        url = f"{PG}?store=bench_scale_{os.getpid()}"
        try:
            load["hynas-postgresql"] = hynas_load(url, args.trials, args.workers)
            print("hynas postgresql", load["hynas-postgresql"], flush=True)
        finally:
            st = PostgresStore(url)
            st.drop()
            st.close()
        if "optuna" not in skip:
            load["optuna-postgresql"] = optuna_load(
                PG.replace("postgresql://", "postgresql+psycopg://"), args.optuna_trials, args.workers
            )
            print("optuna postgresql", load["optuna-postgresql"], flush=True)
    for backend in ("sqlite", "postgresql"):
        h, o = load.get(f"hynas-{backend}"), load.get(f"optuna-{backend}")
        if h and o:
            res[f"ratio_{backend}_hynas_over_optuna"] = h["trials_per_s"] / o["trials_per_s"]
    if "ray" not in skip:
        res["ray"] = ray_part(tmp, trivial=100, train_trials=args.train_trials)
        print("ray", json.dumps(res["ray"], indent=1), flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "scale.json").write_text(json.dumps(res, indent=2))
    (OUT / "scale.md").write_text(markdown(res))
    print(markdown(res))


def markdown(res: dict[str, Any]) -> str:
    lines = [
        f"# Scale-out benchmark ({res['cpus']} CPUs, shared machine)",
        "",
        f"## Load: {res['workers']} processes write {res['trials']} tabular trials into one store "
        f"(Optuna: {res['optuna_trials']} trials, the same work per trial)",
        "",
        "| writer / storage | stored | lost writes | dense numbers | worker errors | wall s | trials/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in res["load"].items():
        lines.append(
            f"| {name} | {r['stored']} | {r['lost_writes']} | {r.get('dense_numbers', '-')} | "
            f"{r.get('worker_errors', 0)} | {r['wall_s']:.1f} | {r['trials_per_s']:.0f} |"
        )
    for backend in ("sqlite", "postgresql"):
        key = f"ratio_{backend}_hynas_over_optuna"
        if key in res:
            lines.append(f"\nhynas / Optuna trials per second on {backend}: **{res[key]:.2f}x**")
    if "ray" in res:
        r = res["ray"]
        o = r["overhead"]
        lines += [
            "",
            "## Ray",
            "",
            f"Ray start-up: {r['ray_init_s']:.1f} s. Per-trial overhead on a trivial (tabular) evaluator, "
            f"{o['trials']} trials: sequential {o['sequential_s']:.2f} s, Ray with 1 worker "
            f"{o['ray_1_worker_s']:.2f} s -> **{o['overhead_per_trial_ms']:.1f} ms per trial**.",
            "",
            "Real-training evaluator (small PyTorch MLP, 1500 training steps per trial):",
            "",
            "| runner | trials | ok | wall s | speed-up vs its 1-worker run |",
            "|---|---|---|---|---|",
        ]
        c = r["train_curve"]
        for label, v in c.items():
            base = c.get(label.split("-")[0] + "-1", v) if "-" in label else v
            lines.append(
                f"| {label} | {v['trials']} | {v['ok']} | {v['wall_s']:.1f} | {base['wall_s'] / v['wall_s']:.2f} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
