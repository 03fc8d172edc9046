"""A computed objective (a cost model with no table) never makes hynas evaluate it over the space:
the reference point comes from tables where they exist and from the run's first trials otherwise
(fixed and stored, so a resumed run reports the same hypervolume), and the true front is shown only
when every objective comes from a table. The progress display's incremental front equals the batch
front."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from typer.testing import CliRunner

import hynas
from hynas.cli import app
from hynas.core.experiment import ExperimentConfig
from hynas.core.metrics import RESOLVERS, CostModel, MetricInfo
from hynas.core.strategy import Candidate
from hynas.report.analysis import (
    REFERENCE_TRIALS,
    RunFront,
    _observed_reference,
    reference_point,
    run_front,
)
from hynas.runners import run
from hynas.stores import open_store
from hynas.wiring import Experiment

CALLS: list[str] = []


class CountingCost(CostModel):
    """A deterministic fake cost model that records every architecture it is asked about."""

    info = MetricInfo("fake@count", "min", "", "test cost model")

    def __call__(self, arch):  # type: ignore[no-untyped-def]
        CALLS.append(str(arch))
        return float(int(hashlib.sha256(str(arch).encode()).hexdigest()[:6], 16) % 997)


@pytest.fixture
def counting():
    def resolver(name, space):  # type: ignore[no-untyped-def]
        return CountingCost() if name == "fake@count" else None

    RESOLVERS.insert(0, resolver)
    CALLS.clear()
    yield CALLS
    RESOLVERS.remove(resolver)


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, (r.output, r.exception)
    return r


def _search(store: str, budget: int, *extra: str, objectives=("accuracy", "fake@count")):  # type: ignore[no-untyped-def]
    """``hynas search`` of the objectives into ``store``, with ``extra`` options."""
    objs = [a for o in objectives for a in ("--objective", o)]
    return _invoke("search", *objs, "--budget", str(budget), "--store", store, *extra)


def _search_json(store: str, budget: int, *extra: str) -> dict:
    r = _search(store, budget, *extra, "--json")
    return json.loads(r.stdout[r.stdout.index("{") :])


@pytest.mark.parametrize("space", ["nb201", "ecnas"])
def test_search_show_report_evaluate_a_computed_objective_only_on_queried_cells(space, counting, tmp_path):
    store = str(tmp_path / "s.db")
    summary = _search_json(store, 4, "--space", space)
    with open_store(store, create=False) as st:
        archs = [t.arch for t in st.trials()]
    assert len(archs) == 4 and sorted(counting) == sorted(archs)  # once per queried cell, no more
    assert summary["hypervolume_ratio"] is None and summary["true_hypervolume"] is None
    assert summary["reference_point_from"] == ["table", "trials"]
    assert summary["hypervolume"] > 0
    n = len(counting)
    _invoke("show", store, "--front")
    out = tmp_path / "rep"
    _invoke("report", store, "--out", str(out))
    assert "from table, trials" in (out / "report.md").read_text()
    assert len(counting) == n  # show and report never call the cost model
    recs = hynas.search(
        space=space, objectives=("accuracy", "fake@count"), budget=4, store=str(tmp_path / "py.db")
    )
    assert len(counting) == n + 4 and sorted(counting[n:]) == sorted(r.arch for r in recs)


def test_observed_reference_is_fixed_stored_and_the_same_after_resume(counting, tmp_path):
    one, two = str(tmp_path / "one.db"), str(tmp_path / "two.db")
    full = _search_json(one, 30)
    part = _search_json(two, 12)
    resumed = _search_json(two, 30)
    with open_store(one, create=False) as a, open_store(two, create=False) as b:
        ref_a, ref_b, recs = a.reference(), b.reference(), a.trials()
    assert ref_a is not None and ref_a == ref_b and set(ref_a) == {"fake@count"}
    # the stored point is the margin past the worst of the first REFERENCE_TRIALS completed trials
    first = np.array([[r.metrics["fake@count"]] for r in recs[:REFERENCE_TRIALS]])
    assert ref_a["fake@count"] == pytest.approx(float(_observed_reference(first)[0]))
    # fixed once REFERENCE_TRIALS trials completed: the same point at 12 and at 30 trials
    assert part["reference_point_min_form"] == full["reference_point_min_form"]
    assert resumed["hypervolume"] == full["hypervolume"]
    assert resumed["reference_point_min_form"] == full["reference_point_min_form"]


def test_a_stored_reference_point_wins_over_recomputation(counting, tmp_path):
    store = str(tmp_path / "s.db")
    _search(store, 12, "-q")
    with open_store(store) as st:
        st._set_meta("reference_point", json.dumps({"fake@count": 5000.0}))  # type: ignore[attr-defined]
    out = tmp_path / "rep"
    _invoke("report", store, "--out", str(out))
    assert "5000" in (out / "report.md").read_text()


def test_tables_only_from_stored_columns():
    exp = Experiment(ExperimentConfig(objectives=("accuracy", "zc@synflow"), budget=1))
    assert exp.column("accuracy") is not None and exp.column("zc@synflow") is None
    assert exp.table() is None  # no true front: zc@synflow is computed, not stored
    for space, objs in (("nb201", ("accuracy", "naswot@nb201")), ("ecnas", ("accuracy", "energy@ecnas"))):
        exp = Experiment(ExperimentConfig(space=space, objectives=objs, budget=1))
        table = exp.table()
        assert table is not None
        rng = np.random.default_rng(0)
        archs = list(exp.space.enumerate())
        for i in rng.integers(0, len(archs), 20):  # rows follow space.enumerate()
            assert table[objs[1]][i] == exp.evaluate(Candidate(archs[i])).metrics[objs[1]]


@pytest.mark.parametrize(
    ("objectives", "constraints", "strategy"),
    [
        (("accuracy", "latency@raspi4"), ("latency@raspi4 <= 4",), "nsga2"),
        (("accuracy", "latency@pixel3", "params"), (), "random"),
        (("accuracy", "fake@count"), ("params <= 0.5",), "random"),
    ],
)
def test_run_front_tracker_equals_the_batch_front(objectives, constraints, strategy, counting, tmp_path):
    cfg = ExperimentConfig(strategy=strategy, objectives=objectives, constraints=constraints, budget=80)
    exp = Experiment(cfg)
    with open_store(str(tmp_path / "r.db")) as st:
        recs = run(exp, st)
    tracker = RunFront(exp)
    for i in range(1, len(recs) + 1):
        tracker.update(recs[:i])
        ref = reference_point(exp, recs[:i])
        assert np.array_equal(tracker.reference(), ref)
        batch = run_front(exp, recs[:i], ref)
        got = sorted(r.number for r in tracker.front.items) if tracker.front.feasible else []
        assert got == sorted(r.number for r in batch.records)
        assert tracker.hypervolume == pytest.approx(batch.hypervolume, rel=1e-12, abs=0)
        best = tracker.best()
        assert (best is None) == (not batch.records)
    assert (tracker.fixed is not None) == ("fake@count" in objectives)


def test_progress_display_computes_the_hypervolume_only_when_the_front_changes(tmp_path, monkeypatch):
    import hynas.core.pareto as P
    import hynas.report.analysis as A
    from hynas.core.pareto import IncrementalFront

    calls: list[int] = []
    real = P.hypervolume

    def counting_hv(pts, ref):  # type: ignore[no-untyped-def]
        calls.append(len(pts))
        return real(pts, ref)

    monkeypatch.setattr(P, "hypervolume", counting_hv)
    monkeypatch.setattr(A, "hypervolume", counting_hv)
    store = str(tmp_path / "s.db")
    _search(store, 300, "--strategy", "random", objectives=("accuracy", "latency@raspi4"))
    with open_store(store, create=False) as st:
        recs = st.trials()
    exp = Experiment(
        ExperimentConfig(strategy="random", objectives=("accuracy", "latency@raspi4"), budget=300)
    )
    front: IncrementalFront[None] = IncrementalFront(2)
    for r in recs:
        front.add([o.to_min(r.metrics[o.name]) for o in exp.objectives], None)
    # one per change of the front at most, plus the true front and the final summary
    assert len(calls) <= front.version + 2


def test_python_search_stores_the_observed_reference_like_the_cli(counting, tmp_path):
    cli_store, py_store = str(tmp_path / "cli.db"), str(tmp_path / "py.db")
    _search(cli_store, 12, "-q")
    hynas.search(objectives=("accuracy", "fake@count"), budget=12, store=py_store)
    with open_store(cli_store, create=False) as a, open_store(py_store, create=False) as b:
        assert a.reference() is not None and a.reference() == b.reference()
