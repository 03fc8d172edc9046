"""The contract every registered strategy passes (Optuna-style reusable suite).

Parametrized over ``STRATEGIES.names()``, so a newly registered strategy is tested automatically:
determinism under a seed, no duplicate queries, resume by replay giving the same result as an
uninterrupted run, and (for multi-objective strategies) a sensible front.
"""

from __future__ import annotations

import numpy as np
import pytest

from hynas.core.experiment import ExperimentConfig
from hynas.report.analysis import run_front
from hynas.runners import run
from hynas.stores import open_store
from hynas.strategies import STRATEGIES
from hynas.wiring import Experiment

BUDGET = 40
#: strategies whose runs take seconds, not milliseconds: their contract tests run with the slow suite
SLOW = {"optuna-gp"}


def _names(multi_only: bool = False) -> list:
    names = STRATEGIES.names()
    if multi_only:
        names = [n for n in names if STRATEGIES.create(n).max_objectives is None]
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


def _objectives(name: str) -> tuple[str, ...]:
    strat = STRATEGIES.create(name)
    return ("accuracy",) if strat.max_objectives == 1 else ("accuracy", "latency@raspi4")


def _run(name, path, budget=BUDGET, seed=0, objectives=None):
    cfg = ExperimentConfig(
        strategy=name, objectives=objectives or _objectives(name), budget=budget, seed=seed
    )
    with open_store(path) as st:
        return run(Experiment(cfg), st)


def _key(recs):
    return [(r.arch, r.fidelity, r.status) for r in recs]


@pytest.mark.parametrize("name", _names())
def test_deterministic_under_seed(name, tmp_path):
    a = _run(name, str(tmp_path / "a.db"))
    b = _run(name, str(tmp_path / "b.db"))
    c = _run(name, str(tmp_path / "c.db"), seed=1)
    assert _key(a) == _key(b)
    assert _key(a) != _key(c)


@pytest.mark.parametrize("name", _names())
def test_no_duplicate_queries(name, tmp_path):
    recs = _run(name, str(tmp_path / "a.db"), budget=60)
    keys = [(r.arch, r.fidelity) for r in recs]
    assert len(keys) == len(set(keys)) == 60


@pytest.mark.parametrize("name", _names())
def test_resume_equals_uninterrupted(name, tmp_path):
    full = _run(name, str(tmp_path / "full.db"))
    part = str(tmp_path / "part.db")
    first = _run(name, part, budget=BUDGET // 3)
    assert _key(first) == _key(full)[: BUDGET // 3]
    resumed = _run(name, part)  # same store, larger budget: replay then continue
    assert _key(resumed) == _key(full)
    assert [r.metrics for r in resumed] == [r.metrics for r in full]


@pytest.mark.parametrize("name", _names())
def test_finds_a_decent_cell(name, tmp_path):
    """Sanity: after 60 queries on accuracy alone the incumbent is a decent NB201 cell."""
    recs = _run(name, str(tmp_path / "a.db"), budget=60, objectives=("accuracy",))
    best = max(r.metrics["accuracy"] for r in recs if r.ok)
    assert best > 89.0


@pytest.mark.parametrize("name", _names(multi_only=True))
def test_multi_objective_front_is_non_dominated(name, tmp_path):
    recs = _run(name, str(tmp_path / "a.db"), budget=60)
    cfg = ExperimentConfig(strategy=name, objectives=("accuracy", "latency@raspi4"), budget=60)
    front = run_front(Experiment(cfg), recs)
    pts = front.points
    assert len(pts) >= 3
    for i in range(len(pts)):
        assert not any(np.all(pts[j] <= pts[i]) and np.any(pts[j] < pts[i]) for j in range(len(pts)))
