"""BANANAS, REINFORCE and the strategies' failure handling beyond the shared contract suite."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.core.objectives import Objective
from hynas.core.pareto import hypervolume
from hynas.core.strategy import Candidate, Result
from hynas.report.analysis import reference_point, run_front, true_front
from hynas.spaces import get_space
from hynas.strategies import STRATEGIES
from hynas.strategies.bananas import chebyshev, hv_improvement
from hynas.strategies.reinforce import Reinforce
from hynas.wiring import Experiment

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from search import one_search


def test_chebyshev_prefers_balanced_points():
    f = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    s = chebyshev(f, np.array([0.5, 0.5]))
    assert np.argmin(s) == 1
    assert chebyshev(f, np.array([1.0, 0.0]))[0] < chebyshev(f, np.array([1.0, 0.0]))[2]


@pytest.mark.parametrize(
    "opts, field",
    [
        ({"acquisition": "pi"}, "acquisition"),
        ({"batch": 0}, "batch"),
        ({"predictor": "xgb"}, "predictor"),
        ({"init": 1.5}, "init"),
        ({"multi": "moead"}, "multi"),
        ({"sweep": "no"}, "sweep"),
    ],
)
def test_bananas_bad_options(opts, field):
    with pytest.raises(HynasError, match=field):
        STRATEGIES.create("bananas", **opts)


@pytest.mark.slow
def test_bananas_uses_predictor_after_init():
    """After the random start, BANANAS proposes batches from its model: better than random's median."""
    _exp, recs, _ = one_search("bananas", budget=40, seed=3, options={"init": 10, "batch": 10})
    acc = np.array([r.metrics["accuracy"] for r in recs])
    assert len({r.arch for r in recs}) == 40
    assert np.median(acc[20:]) > np.median(acc[:10])
    assert acc.max() > 90.0


@pytest.mark.parametrize("acq", ["ucb", "ei", "mean"])
def test_bananas_acquisitions_run(acq):
    _, recs, _ = one_search("bananas", budget=25, seed=1, options={"acquisition": acq, "batch": 8})
    assert len({r.arch for r in recs}) == 25
    assert max(r.metrics["accuracy"] for r in recs) > 88.0


@pytest.mark.slow
def test_bananas_multi_objective_with_constraint():
    """ParEGO batches with a latency constraint: the front is feasible and spread over latency."""
    cons = ("latency@raspi4 <= 10",)
    exp, recs, _ = one_search(
        "bananas",
        objectives=("accuracy", "latency@raspi4"),
        constraints=cons,
        budget=50,
        seed=0,
        options={"batch": 10, "multi": "parego"},
    )
    front = run_front(exp, recs)
    assert len(front.records) >= 3
    assert all(r.metrics["latency@raspi4"] <= 10 for r in front.records)
    late = [r for r in recs[20:] if r.ok]
    feasible = sum(r.metrics["latency@raspi4"] <= 10 for r in late) / len(late)
    early = sum(r.metrics["latency@raspi4"] <= 10 for r in recs[:10]) / 10
    assert feasible >= early


def test_hv_improvement_is_the_exact_hypervolume_gain():
    rng = np.random.default_rng(0)
    ref = np.array([1.1, 1.1, 1.1])
    for m in (2, 3):
        for _ in range(30):
            front = rng.random((int(rng.integers(1, 8)), m))
            cands = rng.random((20, m)) * 1.2
            want = [hypervolume(np.vstack([front, c]), ref[:m]) - hypervolume(front, ref[:m]) for c in cands]
            assert np.allclose(hv_improvement(front, cands, ref[:m]), want)


@pytest.mark.slow
def test_bananas_hvi_reaches_most_of_the_true_front():
    """The default multi-objective acquisition (hypervolume improvement) on accuracy x raspi4 latency."""
    objs = ("accuracy", "latency@raspi4")
    exp, recs, _ = one_search("bananas", objectives=objs, budget=150, seed=0)
    ref = reference_point(exp)
    tf = true_front(exp)
    assert tf is not None
    assert run_front(exp, recs, ref).hypervolume / tf.hypervolume > 0.98
    _, rnd, _ = one_search("random", objectives=objs, budget=150, seed=0)
    assert run_front(exp, recs, ref).hypervolume > run_front(exp, rnd, ref).hypervolume


def test_reinforce_policy_moves_towards_rewarded_choice():
    space = get_space("nb201")
    s = Reinforce(lr=0.1)
    s.setup(space, [Objective("accuracy", "max")], seed=0)
    for _ in range(150):
        (c,) = s.ask(1)
        value = float(sum(g == 3 for g in c.arch.genes))  # reward: number of conv3x3 edges
        s.tell([Result(c, (value,), (-value,))])
    probs = s.probabilities()
    assert all(p[3] == max(p) for p in probs)
    assert np.mean([p[3] for p in probs]) > 0.4


def test_reinforce_bad_options():
    with pytest.raises(HynasError, match="lr"):
        Reinforce(lr=0)
    with pytest.raises(HynasError, match="momentum"):
        Reinforce(momentum=1.0)


def test_failed_results_do_not_break_strategies():
    space = get_space("nb201")
    for name in ("bananas", "reinforce", "hyperband", "bohb"):
        s = STRATEGIES.create(name)
        s.setup(space, [Objective("accuracy", "max")], seed=0, fidelities=(12.0, 200.0))
        for i in range(30):
            (c,) = s.ask(1)
            if i % 3 == 0:
                s.tell([Result(c, ok=False, violation=float("inf"))])
            else:
                v = float(sum(c.arch.genes))
                s.tell([Result(c, (v,), (-v,))])
        assert isinstance(s.ask(1)[0], Candidate)
        assert isinstance(s.ask(1)[0].arch, Architecture)


def test_optuna_adapter_bounds_repeats_per_query():
    """When the sampler keeps proposing evaluated architectures, a query gives up after
    ``max_retries`` proposals and takes a fresh architecture (which Optuna is told about)."""
    exp = Experiment(
        ExperimentConfig(
            strategy="optuna-tpe",
            strategy_options={"max_retries": 4},
            objectives=("accuracy", "latency@pixel3"),
            budget=5,
        )
    )
    strat = exp.strategy
    calls = []

    def always_repeat():
        calls.append(1)
        return None  # what _suggest returns for a repeated or pending architecture

    strat._suggest = always_repeat
    seen = set()
    for _ in range(3):
        cand = strat.ask(1)[0]
        assert cand.arch not in seen
        seen.add(cand.arch)
        strat.tell([exp.result(cand, exp.evaluate(cand).metrics)])
    assert len(calls) == 3 * 4
    assert len(strat.study.trials) == 3  # the fresh architectures are enqueued Optuna trials
    with pytest.raises(HynasError, match="max_retries"):
        STRATEGIES.create("optuna-tpe", max_retries=0)


def test_bananas_encodes_each_objective_for_what_it_predicts():
    """Accuracy gets the path encoding, a hardware cost the per-decision one-hot; the violation
    model sees both; one name for all or one per objective can be given instead."""
    objs = ("accuracy", "latency@fpga")
    mo = Experiment(ExperimentConfig(strategy="bananas", objectives=objs, budget=5)).strategy
    assert mo._enc == [("path",), ("onehot",), ("path", "onehot")]
    assert mo._crossover == 100
    so = Experiment(ExperimentConfig(strategy="bananas", objectives=("accuracy",), budget=5)).strategy
    assert so._enc[0] == ("path",) and so._crossover == 0
    cfg = ExperimentConfig(strategy="bananas", strategy_options={"encoding": "path+onehot"}, objectives=objs)
    assert Experiment(cfg).strategy._enc[:2] == [("path", "onehot")] * 2
    with pytest.raises(HynasError, match="2 objective"):
        Experiment(
            ExperimentConfig(strategy="bananas", strategy_options={"encoding": ["path"]}, objectives=objs)
        )
    with pytest.raises(HynasError, match="no 'adjacency' encoding"):
        Experiment(ExperimentConfig(strategy="bananas", strategy_options={"encoding": "path+adjacency"}))
    x = mo._x([Architecture("nb201", (0, 1, 2, 3, 4, 0))], 1)
    assert x.shape == (1, 30)  # 6 edges × 5 operations
