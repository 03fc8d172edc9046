"""Progress-display scaling benchmark: does a trial cost more the longer the run?

Runs ``hynas search``'s own loop (``hynas.cli.search.run_search``: ask, tabular lookup, store commit, tell
and the progress display with its front and hypervolume, rendered to a terminal-like console that
writes to /dev/null) in a fresh process for

- ``random`` × (accuracy, latency@raspi4, params) on NAS-Bench-201, 10,000 trials;
- ``nsga2`` × the same three objectives, 3,000 trials;

and records, per run, the wall time of the process (start-up included, as a user sees ``hynas
search``) and the time between consecutive finished trials, averaged over 100-trial windows (trials
100-199, ..., the last 100). The same runs are repeated on the base commit's code (a temporary git
worktree at ``--base``, default ``ee70da3``) in the same session, and the ratios printed.

Measures, never asserts. Writes bench/results/progress.json and bench/results/progress.md.

    nice -n 10 python bench/progress.py                    # ~6 minutes on a 2-core shared machine
    nice -n 10 python bench/progress.py --no-base          # this checkout only (~10 s)
    nice -n 10 python bench/progress.py --base-budget 3000 # a shorter baseline random run
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent
OBJECTIVES = ("accuracy", "latency@raspi4", "params")
RUNS = (("random", 10_000), ("nsga2", 3_000))
WINDOW = 100


def worker(strategy: str, budget: int, store: str) -> None:
    """One search in this process; prints a JSON line with its timings."""
    t0 = time.perf_counter()
    from rich.console import Console

    import hynas.cli as cli
    import hynas.runners as runners
    from hynas.core.experiment import ExperimentConfig

    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    # the consoles live in hynas.cli.common since the CLI became a package (the base commit: hynas.cli)
    ui: Any = getattr(cli, "common", cli)
    ui.err_console = Console(file=sink, force_terminal=True, width=120)
    ui.console = Console(file=sink, force_terminal=True, width=120)
    run_search = getattr(cli, "_run_search", None) or cli.search.run_search
    stamps: list[float] = []
    real_run = runners.run

    def timed_run(exp: Any, st: Any, on_trial: Any = None, **kw: Any) -> Any:
        def hook(rec: Any, records: list[Any]) -> None:
            if on_trial is not None:
                on_trial(rec, records)
            stamps.append(time.perf_counter())

        return real_run(exp, st, on_trial=hook, **kw)

    runners.run = timed_run
    cfg = ExperimentConfig(strategy=strategy, objectives=OBJECTIVES, budget=budget, seed=0)
    t1 = time.perf_counter()
    run_search(cfg, store, False, False, 0.0)
    t2 = time.perf_counter()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]  # gaps[i]: trial i+1
    windows = {}
    for start in sorted({WINDOW, 10 * WINDOW, len(gaps) - WINDOW + 1}):
        w = gaps[start - 1 : start - 1 + WINDOW]
        if len(w) == WINDOW and start > 0:
            windows[str(start)] = 1e3 * sum(w) / len(w)
    print(
        json.dumps(
            {
                "trials": len(stamps),
                "import_s": t1 - t0,
                "search_s": t2 - t1,
                "ms_per_trial_at": windows,
            }
        )
    )


def measure(src: Path, strategy: str, budget: int, tmp: Path, tag: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    store = str(tmp / f"{tag}-{strategy}-{budget}.db")
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", strategy, str(budget), store],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t0
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["wall_s"] = wall
    w = res["ms_per_trial_at"]
    first, last = w[str(WINDOW)], w[max(w, key=int)]
    res["last_over_first"] = last / first
    print(f"{tag:>5} {strategy:>6} {budget:>6} trials: {wall:7.1f} s  per trial {w}", flush=True)
    return res


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", nargs=3, metavar=("STRATEGY", "BUDGET", "STORE"))
    ap.add_argument("--base", default="ee70da3", help="commit to compare against")
    ap.add_argument("--no-base", action="store_true", help="skip the baseline runs")
    ap.add_argument("--base-budget", type=int, default=None, help="random-search trials of the baseline")
    ap.add_argument("--repeats", type=int, default=2, help="runs of this checkout per case (median kept)")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), args.worker[2])
        return 0
    res: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "objectives": list(OBJECTIVES),
        "window": WINDOW,
        "head": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "runs": {},
    }
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for strategy, budget in RUNS:
            reps = [measure(ROOT / "src", strategy, budget, tmp, f"new{i}") for i in range(args.repeats)]
            reps.sort(key=lambda r: r["wall_s"])
            res["runs"][f"{strategy}-{budget}"] = {
                "new": reps[len(reps) // 2],
                "new_all_wall_s": [r["wall_s"] for r in reps],
            }
        if not args.no_base:
            base = tmp / "base"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(base), args.base],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            try:
                res["base"] = args.base
                for strategy, budget in RUNS:
                    b = budget if strategy != "random" or args.base_budget is None else args.base_budget
                    old = measure(base / "src", strategy, b, tmp, "base")
                    entry = res["runs"][f"{strategy}-{budget}"]
                    entry["base"] = old
                    if b == budget:
                        entry["speedup_wall"] = old["wall_s"] / entry["new"]["wall_s"]
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    OUT.mkdir(exist_ok=True)
    (OUT / "progress.json").write_text(json.dumps(res, indent=2))
    md = markdown(res)
    (OUT / "progress.md").write_text(md)
    print(md)
    return 0


def markdown(res: dict[str, Any]) -> str:
    lines = [
        "# Progress display: cost per trial over a long run",
        "",
        f"`hynas search`'s loop (ask, tabular lookup, SQLite commit, tell, progress display with front "
        f"and hypervolume) on NAS-Bench-201 × {', '.join(res['objectives'])}; ms per trial averaged "
        f"over {res['window']}-trial windows starting at the trial shown; wall = the whole process "
        "(start-up included).",
        "",
        "| run | code | wall s | ms/trial at 100 | ms/trial at 1,000 | ms/trial at the end | end ÷ 100 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in res["runs"].items():
        for code in ("new", "base"):
            if code not in entry:
                continue
            r = entry[code]
            w = r["ms_per_trial_at"]
            end = max(w, key=int)
            label = res["head"] if code == "new" else f"{res['base']} (base)"
            lines.append(
                f"| {name} ({r['trials']} trials) | {label} | {r['wall_s']:.1f} | {w['100']:.3f} | "
                f"{w.get('1000', float('nan')):.3f} | {w[end]:.3f} (at {end}) | {r['last_over_first']:.2f} |"
            )
        if "speedup_wall" in entry:
            lines.append(f"| | **speed-up** | **{entry['speedup_wall']:.1f}×** | | | | |")
    lines += ["", f"Measured on {res['machine']} ({res['date']}), a shared machine."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
