"""Fault-injection suite (issue 6), longer than the tests.

1. Driver kills: a seeded sequential search (REA, NB201 tabular) is SIGKILLed at 20 random moments
   (mid-evaluation, mid-commit, between trials), resumed each time, and compared with the
   uninterrupted run: completed trials lost, duplicated, and whether the final stored result equals
   the uninterrupted one. Repeated for several seeds.
2. Worker kills: a process-pool run (2 workers) while a killer SIGKILLs random workers; plus
   injected evaluator faults (errors, NaN, hangs past the timeout, self-kills). Counts trials that
   ended completed / failed / lost.

Measures, never asserts. Writes bench/results/faults.json and bench/results/faults.md.

    nice -n 10 python bench/faults.py            # ~2 minutes
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from hynas.core.experiment import Experiment, ExperimentConfig
from hynas.runners import RunOptions, run
from hynas.runners.faults import FaultyEvaluator
from hynas.stores import open_store

OUT = Path(__file__).parent / "results"


def _key(recs: list[Any]) -> list[tuple]:
    return sorted((r.number, r.arch, r.status, json.dumps(r.metrics, sort_keys=True), r.cost_s) for r in recs)


def _driver(path: str, cfg: ExperimentConfig) -> None:
    with open_store(path) as st:
        run(Experiment(cfg), st, trial_delay=0.01)


def _count(path: str) -> int:
    if not os.path.exists(path):
        return 0
    try:
        db = sqlite3.connect(path, timeout=5)
        try:
            return int(db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])
        finally:
            db.close()
    except sqlite3.OperationalError:
        return 0


def driver_kills(tmp: Path, seed: int, kills: int, budget: int) -> dict[str, Any]:
    cfg = ExperimentConfig(strategy="rea", objectives=("accuracy",), budget=budget, seed=seed)
    with open_store(str(tmp / f"ref{seed}.db")) as st:
        ref = run(Experiment(cfg), st)
    path = str(tmp / f"killed{seed}.db")
    rng = random.Random(seed)
    ctx = mp.get_context("fork")
    lost = 0
    seen: list[tuple] = []
    points = []
    targets = sorted(rng.sample(range(1, budget), kills))  # 20 distinct points spread over the run
    for target in targets:
        p = ctx.Process(target=_driver, args=(path, cfg))
        p.start()
        deadline = time.time() + 30
        while _count(path) < target and time.time() < deadline and p.is_alive():
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.012))
        os.kill(p.pid, signal.SIGKILL)
        p.join()
        with open_store(path) as st:
            now = _key(st.trials())
        lost += len(set(seen) - set(now))
        seen = now
        points.append(len(now))
    with open_store(path) as st:
        run(Experiment(cfg), st)
        final = st.trials()
    numbers = [r.number for r in final]
    return {
        "seed": seed,
        "kills": kills,
        "kill_points": points,
        "completed_lost": lost,
        "duplicated": len(numbers) - len(set(numbers)),
        "missing": len(set(range(budget)) - set(numbers)),
        "same_as_uninterrupted": _key(final) == _key(ref),
    }


def worker_kills(tmp: Path, budget: int, seed: int) -> dict[str, Any]:
    cfg = ExperimentConfig(strategy="rea", objectives=("accuracy",), budget=budget, seed=seed)
    exp = Experiment(cfg)
    exp.evaluator = FaultyEvaluator(
        exp.evaluator, seed=seed, error=0.05, nan=0.05, hang=0.03, die=0.05, hang_s=60, delay_s=0.05
    )
    done = threading.Event()
    kills = []
    rng = random.Random(seed)

    def killer() -> None:
        while not done.wait(rng.uniform(0.1, 0.4)):
            kids = mp.active_children()
            if kids:
                victim = rng.choice(kids)
                try:
                    os.kill(victim.pid, signal.SIGKILL)
                    kills.append(victim.pid)
                except ProcessLookupError:
                    pass

    t = threading.Thread(target=killer)
    t.start()
    t0 = time.perf_counter()
    try:
        with open_store(str(tmp / f"pool{seed}.db")) as st:
            recs = run(exp, st, options=RunOptions(workers=2, timeout_s=2, retries=1, max_requeues=20))
            running = [s for s in st.schedule() if s.told_seq is None]
    finally:
        done.set()
        t.join()
    numbers = [r.number for r in recs]
    return {
        "seed": seed,
        "trials": budget,
        "external_kills": len(kills),
        "completed": sum(r.ok for r in recs),
        "failed": sum(not r.ok for r in recs),
        "requeued": sum("worker lost" in r.error for r in recs),
        "timeouts": sum("TrialTimeout" in r.error for r in recs),
        "lost": budget - len(set(numbers)) + len(running),
        "wall_s": time.perf_counter() - t0,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--budget", type=int, default=150)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hynas-faults-"))
    res: dict[str, Any] = {"driver_kills": [], "worker_kills": []}
    for seed in range(args.seeds):
        r = driver_kills(tmp, seed, args.kills, args.budget)
        print("driver", r, flush=True)
        res["driver_kills"].append(r)
    for seed in range(args.seeds):
        r = worker_kills(tmp, args.budget, seed)
        print("workers", r, flush=True)
        res["worker_kills"].append(r)
    OUT.mkdir(exist_ok=True)
    (OUT / "faults.json").write_text(json.dumps(res, indent=2))
    lines = [
        "# Fault injection",
        "",
        f"## Driver SIGKILLed at {args.kills} random points of a seeded sequential REA search ({args.budget} trials)",
        "",
        "| seed | completed lost | duplicated | missing | same final result as uninterrupted | trials stored at each kill |",
        "|---|---|---|---|---|---|",
    ]
    for r in res["driver_kills"]:
        lines.append(
            f"| {r['seed']} | {r['completed_lost']} | {r['duplicated']} | {r['missing']} | "
            f"{r['same_as_uninterrupted']} | {' '.join(map(str, r['kill_points']))} |"
        )
    lines += [
        "",
        "## Workers SIGKILLed at random in a 2-worker pool run, plus injected evaluator faults",
        "",
        "(5% errors, 5% NaN, 3% hangs past a 2 s timeout, 5% self-kills; 1 retry)",
        "",
        "| seed | trials | external kills | completed | failed | re-queued | timeouts | lost | wall s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["worker_kills"]:
        lines.append(
            f"| {r['seed']} | {r['trials']} | {r['external_kills']} | {r['completed']} | {r['failed']} | "
            f"{r['requeued']} | {r['timeouts']} | {r['lost']} | {r['wall_s']:.1f} |"
        )
    (OUT / "faults.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
