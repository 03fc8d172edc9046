"""Successive halving, Hyperband and BOHB: brackets, promotion, options, resume and fidelities."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.core.objectives import Objective
from hynas.core.strategy import Result
from hynas.runners import run
from hynas.spaces import get_space
from hynas.stores import open_store
from hynas.strategies.multifidelity import MultiFidelity
from hynas.wiring import Experiment

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))


def _mf(method: str, **kw) -> MultiFidelity:
    s = MultiFidelity(method, **kw)
    s.setup(get_space("nb201"), [Objective("accuracy", "max")], seed=0, fidelities=(12.0, 200.0))
    return s


def test_hyperband_bracket_sizes():
    s = _mf("hyperband", eta=3, scale=3)
    assert s.bracket_sizes(1) == [9, 3]  # 9 at 12 epochs, best 3 at 200
    assert s.bracket_sizes(0) == [6]


def test_successive_halving_promotes_the_best_to_the_top_fidelity():
    s = _mf("sh", eta=3, scale=3)
    first = s.ask(9)
    assert {c.fidelity for c in first} == {12.0}
    values = {c.arch: float(i) for i, c in enumerate(first)}
    s.tell([Result(c, (values[c.arch],), (-values[c.arch],)) for c in first])
    promoted = s.ask(3)
    assert {c.fidelity for c in promoted} == {200.0}
    best3 = sorted(values, key=lambda a: -values[a])[:3]
    assert [c.arch for c in promoted] == best3
    # the next ask opens a new bracket of fresh architectures at the lowest fidelity
    nxt = s.ask(1)[0]
    assert nxt.fidelity == 12.0 and nxt.arch not in values


def test_pending_rung_opens_another_bracket():
    s = _mf("sh")
    a = s.ask(9)
    b = s.ask(2)  # rung 0 results not told yet: a new bracket starts
    assert all(c.fidelity == 12.0 for c in b)
    assert not {c.arch for c in a} & {c.arch for c in b}


def test_bohb_samples_from_model_when_enough_data():
    s = _mf("bohb", random_fraction=0.0, scale=10)
    space = get_space("nb201")
    cands = s.ask(30)
    # reward conv3x3 everywhere: the good density should propose conv3x3-heavy cells
    s.tell([Result(c, (v := float(sum(g == 3 for g in c.arch.genes))), (-v,)) for c in cands])
    new = [c for c in s.ask(40) if c.fidelity == 12.0]
    assert new
    frac = np.mean([sum(g == 3 for g in c.arch.genes) / 6 for c in new])
    assert frac > 0.35  # random would give 0.2
    assert all(space.contains(c.arch) for c in new)


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"fidelities": [200]}, "two distinct fidelities"),
        ({"eta": 1}, "eta"),
        ({"fidelities": "ab"}, "fidelities"),
    ],
)
def test_multifidelity_bad_options(kw, field):
    with pytest.raises(HynasError, match=field):
        MultiFidelity("hyperband", **kw)
    with pytest.raises(HynasError, match="method"):
        MultiFidelity("asha")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hyperband", "bohb"])
def test_multifidelity_budget_seconds_and_resume(name, tmp_path):
    """Cost-based budget: cheap 12-epoch queries; resume by replay repeats (arch, fidelity) pairs."""
    cfg = ExperimentConfig(strategy=name, objectives=("accuracy",), budget=None, budget_seconds=2e5, seed=2)
    with open_store(str(tmp_path / "full.db")) as st:
        full = run(Experiment(cfg), st)
    assert sum(r.cost_s for r in full[:-1]) < 2e5 <= sum(r.cost_s for r in full)
    fids = [r.fidelity for r in full]
    assert 12.0 in fids and 200.0 in fids
    archs_at_200 = {r.arch for r in full if r.fidelity == 200.0}
    assert archs_at_200 & {r.arch for r in full if r.fidelity == 12.0}  # promoted ones were seen cheaply
    part = str(tmp_path / "part.db")
    small = ExperimentConfig(strategy=name, objectives=("accuracy",), budget=None, budget_seconds=5e4, seed=2)
    with open_store(part) as st:
        run(Experiment(small), st)
    with open_store(part) as st:
        resumed = run(Experiment(cfg), st)
    assert [(r.arch, r.fidelity) for r in resumed] == [(r.arch, r.fidelity) for r in full]


def test_multifidelity_takes_the_evaluators_fidelities(tmp_path):
    """Without the option, Hyperband/BOHB use what the evaluator offers (ecnas: 2 and 4 epochs);
    fidelities the evaluator lacks, or an evaluator with one fidelity, are one clear error."""
    exp = Experiment(
        ExperimentConfig(space="ecnas", strategy="hyperband", objectives=("accuracy",), budget=20)
    )
    assert exp.strategy.fidelities == (2.0, 4.0)
    with open_store(str(tmp_path / "mf.db")) as st:
        recs = run(exp, st)
    assert len(recs) == 20 and all(r.status == "completed" for r in recs)
    assert {r.fidelity for r in recs} == {2.0, 4.0}
    nb = Experiment(ExperimentConfig(strategy="bohb", objectives=("accuracy",), budget=5))
    assert nb.strategy.fidelities == (12.0, 200.0)
    with pytest.raises(HynasError, match="not offered by the evaluator; valid: 2, 4"):
        Experiment(
            ExperimentConfig(
                space="ecnas",
                strategy="hyperband",
                strategy_options={"fidelities": [12, 200]},
                objectives=("accuracy",),
                budget=5,
            )
        )
    with pytest.raises(HynasError, match="at least two fidelities"):
        Experiment(ExperimentConfig(dataset="cifar100", strategy="sh", objectives=("accuracy",), budget=5))
