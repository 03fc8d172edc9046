"""Zero-cost warm start of BANANAS, REA and Optuna-TPE, and the proxies it scores with."""

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
from hynas.strategies import STRATEGIES
from hynas.wiring import Experiment

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from search import one_search


def test_naswot_table_proxy_resolves_on_nb201_only():
    from hynas.benchmarks.nb201 import load_table
    from hynas.core.metrics import resolve_cost_model

    space = get_space("nb201")
    model = resolve_cost_model("naswot@nb201", space)
    assert model is not None and model.info.direction == "max"
    raw = load_table()["naswot"]
    finite = np.flatnonzero(np.isfinite(raw))
    for i in finite[:: len(finite) // 7]:
        assert model(space.from_index(int(i))) == pytest.approx(raw[i])
    missing = int(np.flatnonzero(~np.isfinite(raw))[0])  # -inf in the source: ranks last
    assert model(space.from_index(missing)) == pytest.approx(raw[finite].min())
    with pytest.raises(HynasError, match="zc@naswot"):
        resolve_cost_model("naswot@nb201", get_space("ecnas"))


@pytest.mark.parametrize(
    "strategy, k, extra",
    [("bananas", 4, {"init": 4}), ("rea", 20, {}), ("optuna-tpe", 10, {})],
)
def test_warm_start_queries_the_proxy_best_first(strategy, k, extra, tmp_path):
    """With a pool of the whole space, the first queries (BANANAS's init, REA's first population,
    Optuna's first trials) are the proxy's top cells, best first; the run is deterministic and
    resumes by replay like any other."""
    from hynas.benchmarks.nb201 import load_table

    opts = {"warm_start": "naswot@nb201", "warm_pool": 20_000, **extra}
    raw = np.nan_to_num(load_table()["naswot"], nan=-np.inf)
    space = get_space("nb201")
    top = [space.format(space.from_index(int(i))) for i in np.argsort(-raw, kind="stable")[:k]]

    def go(path, budget):
        cfg = ExperimentConfig(
            strategy=strategy, strategy_options=opts, objectives=("accuracy",), budget=budget, seed=2
        )
        with open_store(str(tmp_path / path)) as st:
            return [r.arch for r in run(Experiment(cfg), st)]

    n = k + 8
    full = go("a.db", n)
    assert full[:k] == top and len(set(full)) == n
    assert go("a2.db", n) == full
    assert go("b.db", k // 2) == full[: k // 2]
    assert go("b.db", n) == full  # resumed


def test_bananas_warm_start_from_a_sampled_pool_beats_random_on_the_proxy():
    _, recs, _ = one_search(
        "bananas", budget=10, seed=0, options={"warm_start": "naswot@nb201", "warm_pool": 500}
    )
    _, rand, _ = one_search("random", budget=10, seed=0)
    from hynas.core.metrics import resolve_cost_model

    space = get_space("nb201")
    zc = resolve_cost_model("naswot@nb201", space)
    assert zc is not None
    warm = [zc(space.parse(r.arch)) for r in recs]
    assert warm == sorted(warm, reverse=True)
    assert min(warm) > max(zc(space.parse(r.arch)) for r in rand)


@pytest.mark.parametrize("strategy", ["bananas", "rea", "optuna-tpe"])
@pytest.mark.parametrize(
    "opts, match",
    [
        ({"warm_start": "accuracy"}, "computed without training"),
        ({"warm_start": "zc@nope"}, "unknown zero-cost proxy"),
        ({"warm_start": ""}, "metric name"),
        ({"warm_start": "naswot@nb201", "warm_pool": 0}, "warm_pool"),
    ],
)
def test_warm_start_bad_options(strategy, opts, match):
    with pytest.raises(HynasError, match=match):
        Experiment(ExperimentConfig(strategy=strategy, strategy_options=opts, objectives=("accuracy",)))


@pytest.mark.parametrize("sweep", [True, False])
def test_bananas_sweeps_the_best_neighbourhood_when_stuck(sweep):
    """Single objective: after ``patience`` queries without a new best, every query is an unseen
    neighbour of the best until that neighbourhood is exhausted (the local-search step)."""
    space = get_space("nb201")
    s = STRATEGIES.create("bananas", init=3, patience=3, sweep=sweep)
    s.setup(space, [Objective("accuracy", "max")], seed=0)
    rng = np.random.default_rng(0)
    asked = []
    for _ in range(40):
        c = s.ask(1)[0]
        v = 100.0 if not asked else float(rng.random())  # the first query stays the best
        asked.append(c.arch)
        s.tell([Result(c, (v,), (-v,))])
    best_nbrs = set(space.neighbours(asked[0]))
    first_stuck = 4  # 3 random + 3 told without improvement after the best (the best is query 0)
    swept = [a in best_nbrs for a in asked[first_stuck : first_stuck + 15]]
    if sweep:
        assert all(swept)
        assert best_nbrs <= set(asked)  # exhausted within the 40 queries
    else:
        assert not all(swept)


def test_warm_start_with_a_proxy_computed_on_real_networks():
    """``zc@synflow`` is scored on the built PyTorch networks: REA's first population is the pool's
    best by it, best first (pool of 6 cells drawn from the strategy's seeded generator)."""
    from hynas.core.metrics import resolve_cost_model

    space = get_space("nb201")
    opts = {"warm_start": "zc@synflow", "warm_pool": 6, "population": 3}
    _, recs, _ = one_search("rea", budget=5, seed=4, options=opts)
    rng = np.random.default_rng(4)
    pool: dict = {}
    while len(pool) < 6:
        pool[space.sample(rng)] = None
    zc = resolve_cost_model("zc@synflow", space)
    assert zc is not None
    ranked = sorted(pool, key=lambda a: -zc(a))
    assert [r.arch for r in recs[:3]] == [space.format(a) for a in ranked[:3]]


def test_optuna_warm_k_must_be_positive():
    opts = {"warm_start": "naswot@nb201", "warm_k": -1}
    with pytest.raises(HynasError, match="warm_k"):
        Experiment(ExperimentConfig(strategy="optuna-tpe", strategy_options=opts, objectives=("accuracy",)))


def test_warm_start_is_scored_at_the_first_ask_not_at_setup(monkeypatch):
    """`hynas show` / `report` build the strategy without asking: they must not pay for the proxy
    (1.5 s per cell for zc@naswot). Bad options still fail at setup."""
    import hynas.core.metrics as metrics
    from hynas.core.metrics import CostModel, MetricInfo

    calls = []

    class Counting(CostModel):
        info = MetricInfo("zc@count", "max")

        def __call__(self, arch):
            calls.append(arch)
            return float(sum(arch.genes))

    real = metrics.resolve_cost_model
    monkeypatch.setattr(
        metrics, "resolve_cost_model", lambda n, sp: Counting() if n == "zc@count" else real(n, sp)
    )
    for strategy in ("bananas", "rea", "optuna-tpe"):
        calls.clear()
        cfg = ExperimentConfig(
            strategy=strategy,
            strategy_options={"warm_start": "zc@count", "warm_pool": 50},
            objectives=("accuracy",),
        )
        exp = Experiment(cfg)
        assert calls == []
        first = exp.strategy.ask(1)[0].arch
        assert len(calls) == 50
        assert sum(first.genes) == max(sum(a.genes) for a in calls)
