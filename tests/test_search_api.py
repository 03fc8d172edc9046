"""``hynas.search`` from Python: settings given as keywords behave as on the command line."""

from __future__ import annotations

import pytest

import hynas
from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.wiring import space_defaults


def test_another_space_takes_its_own_defaults_not_nb201s():
    nb = ExperimentConfig()
    for space in ("ecnas", "mobile", "hybrid-lm"):
        cfg = nb.with_overrides(space=space)
        d = space_defaults(space)
        assert d is not None
        assert (cfg.dataset, cfg.objectives) == (d.dataset, tuple(d.objectives))
    # nb201's cifar10 and latency@raspi4 do not leak into the mobile space (Fashion-MNIST)
    assert nb.with_overrides(space="mobile").dataset == "fashion-mnist"


def test_what_the_user_set_survives_a_change_of_space():
    cfg = ExperimentConfig(objectives=("accuracy", "params"), seed=7).with_overrides(space="ecnas", budget=5)
    assert cfg.objectives == ("accuracy", "params") and cfg.seed == 7 and cfg.budget == 5


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"objective": ["accuracy"]}, "unknown setting"), ({"objectives": "accuracy"}, "list of strings")],
)
def test_bad_keywords_are_one_clear_error(overrides, message):
    with pytest.raises(HynasError, match=message):
        ExperimentConfig().with_overrides(**overrides)


def test_search_on_another_space_runs_with_that_spaces_defaults():
    trials = hynas.search(space="ecnas", strategy="random", budget=4)
    assert len(trials) == 4 and all(t.ok for t in trials)
    assert set(space_defaults("ecnas").objectives) <= set(trials[0].metrics)  # type: ignore[union-attr]


def _run(tmp_path, **kw):
    store = str(tmp_path / "s.db")
    cfg = {"strategy": "random", "budget": 25, "constraints": ("latency@pixel3 <= 12",), **kw}
    return store, hynas.search(store=store, **cfg)


def test_load_gives_the_same_front_and_best_as_the_search_and_hynas_show(tmp_path):
    import json

    from cli_util import run_cli

    store, ran = _run(tmp_path)
    from pathlib import Path

    before = Path(store).read_bytes()
    study = hynas.load(store)
    assert Path(store).read_bytes() == before  # loading never changes the store
    assert len(study) == len(ran) == 25 and [t.arch for t in study] == [t.arch for t in ran]
    assert study.config == ran.config and study.objectives == ["accuracy", "latency@raspi4"]
    front = study.front()
    shown = json.loads(run_cli("show", store, "--front", "--json").stdout)
    assert sorted(t.number for t in front) == sorted(t["number"] for t in shown["trials"])
    assert [t.number for t in front] == [t.number for t in ran.front()]
    assert all(t.metrics["latency@pixel3"] <= 12 for t in front)  # the constrained front
    best = study.best("accuracy")
    feasible = [t for t in study if t.ok and t.metrics["latency@pixel3"] <= 12]
    assert best.metrics["accuracy"] == max(t.metrics["accuracy"] for t in feasible)
    assert study.best("latency@raspi4").metrics["latency@raspi4"] == min(
        t.metrics["latency@raspi4"] for t in feasible
    )
    assert study.best() == best and study.hypervolume() > 0


def test_tables_hold_every_trial_and_metric(tmp_path):
    import csv
    import io

    store, _ = _run(tmp_path)
    study = hynas.load(store)
    out = tmp_path / "t.csv"
    text = study.to_csv(out)
    assert out.read_text() == text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["number"]) for r in rows] == list(range(25))
    assert {"arch", "status", "accuracy", "latency@raspi4", "hidden:test_accuracy"} <= set(rows[0])
    assert float(rows[3]["accuracy"]) == study[3].metrics["accuracy"]


def test_to_dataframe(tmp_path):
    from extras import need_module

    need_module("pandas", "pandas")
    store, _ = _run(tmp_path)
    df = hynas.load(store).to_dataframe()
    assert len(df) == 25 and df["accuracy"].max() == max(t.metrics["accuracy"] for t in hynas.load(store))


def test_bad_study_questions_are_one_clear_error(tmp_path):
    store, _ = _run(tmp_path)
    study = hynas.load(store)
    with pytest.raises(HynasError, match="unknown objective 'acc'"):
        study.best("acc")
    with pytest.raises(HynasError, match=r"not found|does not exist|no store"):
        hynas.load(str(tmp_path / "missing.db"))
