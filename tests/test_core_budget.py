from __future__ import annotations

import pytest

from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.report.analysis import anytime
from hynas.runners import run
from hynas.stores import open_store
from hynas.wiring import Experiment


def test_budget_in_simulated_seconds(store_path):
    budget = 40 * 3600.0
    cfg = ExperimentConfig(strategy="random", objectives=("accuracy",), budget=None, budget_seconds=budget)
    exp = Experiment(cfg)
    with open_store(store_path) as st:
        recs = run(exp, st)
    spent = [sum(r.cost_s for r in recs[:i]) for i in range(1, len(recs) + 1)]
    assert spent[-1] >= budget > spent[-2]  # stops at the first trial that reaches the budget
    curve = anytime(exp, recs)
    assert curve.seconds[-1] == pytest.approx(spent[-1])
    assert list(curve.queries) == list(range(1, len(recs) + 1))
    assert all(a <= b for a, b in zip(curve.best[:-1], curve.best[1:], strict=True))
    assert "test_accuracy" in curve.best_hidden


def test_low_fidelity_queries_are_cheaper_in_time(tmp_path):
    def n_trials(fid: float) -> int:
        cfg = ExperimentConfig(
            strategy="random",
            objectives=("accuracy",),
            budget=None,
            budget_seconds=20 * 3600.0,
            evaluator_options={"fidelity": fid},
        )
        with open_store(str(tmp_path / f"{fid}.db")) as st:
            return len(run(Experiment(cfg), st))

    assert n_trials(12) > 10 * n_trials(200)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"budget": 0}, "bad budget"),
        ({"budget": 2.5}, "bad budget"),
        ({"budget": None}, "no budget"),
        ({"budget": None, "budget_seconds": -1.0}, "bad budget_seconds"),
        ({"budget": None, "budget_seconds": float("nan")}, "bad budget_seconds"),
        ({"seed": -1}, "bad seed"),
        ({"objectives": ()}, "no objectives"),
    ],
)
def test_bad_budgets_and_settings(kw, message):
    with pytest.raises(HynasError, match=message):
        ExperimentConfig(**kw)


@pytest.mark.parametrize(
    "space, dataset, objectives",
    [
        ("nb201", "cifar10", ("accuracy", "latency@raspi4")),
        ("mobile", "fashion-mnist", ("accuracy", "latency@roofline:raspi4")),
        ("hybrid-lm", None, ("bpb", "recall", "memory@128k")),
    ],
)
def test_each_space_has_its_own_default_dataset_and_objectives(space, dataset, objectives):
    cfg = ExperimentConfig(space=space)
    assert cfg.dataset == dataset and cfg.objectives == objectives
    # given values win; a store written before the defaults moved here has the same fingerprint
    assert ExperimentConfig(space=space, objectives=("accuracy",)).objectives == ("accuracy",)
    if space == "nb201":
        assert cfg.fingerprint()["dataset"] == "cifar10"
        assert cfg.fingerprint() == ExperimentConfig(dataset="cifar10", objectives=objectives).fingerprint()


def test_durations_read_in_a_sensible_unit():
    from hynas.report.summary import format_duration

    assert format_duration(42) == "42 s"
    assert format_duration(750) == "12.5 min"
    assert format_duration(4 * 3600) == "4.0 h"
