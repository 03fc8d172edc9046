"""Predictors: errors, the ensemble's spread, and the eval CLI (the contract every predictor keeps:
``tests/test_predictor_contract.py``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hynas.core.errors import HynasError
from hynas.predictors import PREDICTORS
from hynas.predictors.evaluate import evaluate_predictor, space_data
from hynas.testing.predictors import known_function


def test_predictor_errors():
    p = PREDICTORS.create("mlp-ensemble")
    with pytest.raises(HynasError, match="fitted"):
        p.predict(np.zeros((2, 3)))
    with pytest.raises(HynasError, match="targets"):
        p.fit(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(HynasError, match="NaN"):
        p.fit(np.zeros((3, 2)), np.array([1.0, np.nan, 2.0]))
    with pytest.raises(HynasError, match="2-D"):
        p.fit(np.zeros(3), np.zeros(3))
    with pytest.raises(HynasError, match="members"):
        PREDICTORS.create("mlp-ensemble", members=0)
    with pytest.raises(HynasError, match="valid predictors"):
        PREDICTORS.create("xgboost")


def test_mlp_ensemble_spread_is_larger_far_from_data():
    x, y = known_function(60)
    p = PREDICTORS.create("mlp-ensemble", seed=0).fit(x[:, :6][x[:, 0] == 0], y[x[:, 0] == 0])
    _, std_in = p.predict(x[:, :6][x[:, 0] == 0])
    _, std_out = p.predict(np.full((5, 6), 5.0))
    assert std_out.mean() > std_in.mean()


@pytest.mark.slow
def test_evaluate_predictor_on_nb201():
    x, y = space_data("nb201", "cifar10")
    assert x.shape == (15625, 84)
    rows = evaluate_predictor(x, y, "random-forest", sizes=(20, 200), trials=2, test_size=300)
    assert [r["train_size"] for r in rows] == [20, 200]
    assert all(-1 <= r["kendall_tau"] <= 1 for r in rows)
    assert rows[1]["spearman"] > rows[0]["spearman"] > 0.2
    with pytest.raises(HynasError, match="test size"):
        evaluate_predictor(x, y, "gp", sizes=(20,), test_size=20000)


def test_predictor_eval_cli():
    from hynas import plugins
    from hynas.cli import SUBAPPS, app

    plugins.load()
    for sub, name in SUBAPPS:
        if not any(g.name == name for g in app.registered_groups):
            app.add_typer(sub, name=name)
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "predictor",
            "eval",
            "--predictor",
            "gp",
            "--sizes",
            "10,30",
            "--trials",
            "1",
            "--test-size",
            "200",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert [r["train_size"] for r in data["rows"]] == [10, 30]
    bad = runner.invoke(app, ["predictor", "eval", "--sizes", "x"])
    assert bad.exit_code != 0
    assert isinstance(bad.exception, HynasError)
