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
