"""BANANAS, REINFORCE and the multi-fidelity strategies beyond the shared contract suite."""

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
from hynas.runners import run
from hynas.spaces import get_space
from hynas.stores import open_store
from hynas.strategies import STRATEGIES
from hynas.strategies.bananas import chebyshev, hv_improvement
from hynas.strategies.multifidelity import MultiFidelity
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
