"""The strategy contract (:class:`hynas.core.strategy.Strategy`), as reusable checks.

Each check runs real searches of a registered strategy on NAS-Bench-201 (the tabular evaluator,
so a run takes well under a second) into stores under ``workdir``:

- ``check_deterministic``: the same seed asks the same candidates; another seed does not;
- ``check_no_duplicate_queries``: no (architecture, fidelity) is asked twice;
- ``check_resume``: a run stopped after a third of its budget and resumed on its store asks and
  records exactly what an uninterrupted run does (resume replays the trials through the strategy);
- ``check_finds_a_decent_cell``: 60 queries on accuracy find a cell above 89 % (a sanity floor;
  random search passes it);
- ``check_front_is_non_dominated`` (strategies that take several objectives): the reported front
  of accuracy and latency has at least three points and none dominates another.

``check_strategy(name, workdir)`` runs them all. They are for strategies that search; one that
asks a list it is given (``Strategy.searches = False``, e.g. ``given``) is tested on its own. A third-party strategy registers itself with
``hynas.strategies.STRATEGIES.register(name)`` first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hynas.core.experiment import ExperimentConfig
from hynas.core.store import TrialRecord
from hynas.testing._assert import expect

__all__ = [
    "BUDGET",
    "check_deterministic",
    "check_finds_a_decent_cell",
    "check_front_is_non_dominated",
    "check_no_duplicate_queries",
    "check_resume",
    "check_strategy",
    "takes_several_objectives",
]

BUDGET = 40
MULTI = ("accuracy", "latency@raspi4")


def takes_several_objectives(name: str) -> bool:
    from hynas.strategies import STRATEGIES

    return STRATEGIES.create(name).max_objectives is None


def _objectives(name: str) -> tuple[str, ...]:
    return MULTI if takes_several_objectives(name) else ("accuracy",)


def _config(name: str, budget: int, seed: int, objectives: Sequence[str] | None) -> ExperimentConfig:
    return ExperimentConfig(
        strategy=name, objectives=tuple(objectives or _objectives(name)), budget=budget, seed=seed
    )


def search(
    name: str, path: Path, budget: int = BUDGET, seed: int = 0, objectives: Sequence[str] | None = None
) -> list[TrialRecord]:
    """The trials of a search with strategy ``name`` into the store at ``path`` (resumed if it
    exists). The checks below name their stores after the strategy, so one ``workdir`` serves all."""
    from hynas.runners import run
    from hynas.stores import open_store
    from hynas.wiring import Experiment

    with open_store(str(path)) as st:
        return run(Experiment(_config(name, budget, seed, objectives)), st)


def _key(recs: Sequence[TrialRecord]) -> list[tuple[Any, ...]]:
    return [(r.arch, r.fidelity, r.status) for r in recs]


def check_deterministic(name: str, workdir: Path) -> None:
    a = search(name, workdir / f"{name}-det-a.db")
    b = search(name, workdir / f"{name}-det-b.db")
    c = search(name, workdir / f"{name}-det-c.db", seed=1)
    expect(_key(a) == _key(b), f"strategy {name!r}: two runs with seed 0 ask different candidates")
    expect(_key(a) != _key(c), f"strategy {name!r}: seeds 0 and 1 ask the same candidates")


def check_no_duplicate_queries(name: str, workdir: Path, budget: int = 60) -> None:
    recs = search(name, workdir / f"{name}-dup.db", budget=budget)
    keys = [(r.arch, r.fidelity) for r in recs]
    expect(len(keys) == budget, f"strategy {name!r}: {len(keys)} trials for a budget of {budget}")
    expect(len(set(keys)) == len(keys), f"strategy {name!r}: an (architecture, fidelity) was asked twice")


def check_resume(name: str, workdir: Path) -> None:
    full = search(name, workdir / f"{name}-full.db")
    part = workdir / f"{name}-part.db"
    first = search(name, part, budget=BUDGET // 3)
    expect(_key(first) == _key(full)[: BUDGET // 3], f"strategy {name!r}: a shorter run starts differently")
    resumed = search(name, part)  # same store, larger budget: replay, then continue
    expect(
        _key(resumed) == _key(full), f"strategy {name!r}: the resumed run differs from an uninterrupted one"
    )
    expect(
        [r.metrics for r in resumed] == [r.metrics for r in full],
        f"strategy {name!r}: the resumed run records different metrics",
    )


def check_finds_a_decent_cell(name: str, workdir: Path, floor: float = 89.0) -> None:
    recs = search(name, workdir / f"{name}-decent.db", budget=60, objectives=("accuracy",))
    best = max((r.metrics["accuracy"] for r in recs if r.ok), default=float("nan"))
    expect(best > floor, f"strategy {name!r}: best accuracy {best} after 60 queries is not above {floor}")


def check_front_is_non_dominated(name: str, workdir: Path) -> None:
    from hynas.report.analysis import run_front
    from hynas.wiring import Experiment

    recs = search(name, workdir / f"{name}-front.db", budget=60, objectives=MULTI)
    pts = run_front(Experiment(_config(name, 60, 0, MULTI)), recs).points
    expect(len(pts) >= 3, f"strategy {name!r}: a front of {len(pts)} points after 60 queries")
    for i in range(len(pts)):
        dominated = any(np.all(pts[j] <= pts[i]) and np.any(pts[j] < pts[i]) for j in range(len(pts)))
        expect(not dominated, f"strategy {name!r}: front point {pts[i]} is dominated")


def check_strategy(name: str, workdir: Path) -> None:
    """Every check above (the front only for strategies that take several objectives)."""
    check_deterministic(name, workdir)
    check_no_duplicate_queries(name, workdir)
    check_resume(name, workdir)
    check_finds_a_decent_cell(name, workdir)
    if takes_several_objectives(name):
        check_front_is_non_dominated(name, workdir)
