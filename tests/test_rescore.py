"""``hynas rescore`` and the ``given`` strategy: a front evaluated again, in a new ordinary store."""

from __future__ import annotations

from pathlib import Path

import pytest

import hynas
from cli_util import invoke_cli
from hynas.cli.rescore import rescore_config
from hynas.core.errors import HynasError
from hynas.evaluators import make_evaluator
from hynas.spaces import get_space

OBJ = ("accuracy", "params")


def _search(path: Path, budget: int = 30) -> hynas.Study:
    return hynas.search(objectives=OBJ, budget=budget, seed=3, store=str(path))


def test_the_front_is_rescored_on_another_dataset_into_a_new_store(tmp_path: Path) -> None:
    src = _search(tmp_path / "a.db")
    front = [t.arch for t in src.front()]
    assert 2 <= len(front) < len(src)
    code, out = invoke_cli(["rescore", str(tmp_path / "a.db"), "--store", str(tmp_path / "b.db"),
                            "--dataset", "cifar100", "-q"])  # fmt: skip
    assert code == 0, out
    new = hynas.load(str(tmp_path / "b.db"))
    assert [t.arch for t in new] == front, "the front's architectures, in the front's order"
    assert new.config.dataset == "cifar100" and new.config.strategy == "given"
    table = make_evaluator("nb201", "nb201-tabular", dataset="cifar100")
    space = get_space("nb201")
    for t in new:
        assert t.metrics["accuracy"] == table.evaluate(space.parse(t.arch)).metrics["accuracy"]
    assert any(a.metrics["accuracy"] != b.metrics["accuracy"] for a, b in zip(src.front(), new, strict=True))
    before = (tmp_path / "b.db").stat().st_mtime_ns, len(new)
    code, out = invoke_cli(["rescore", str(tmp_path / "a.db"), "--store", str(tmp_path / "b.db"),
                            "--dataset", "cifar100", "-q"])  # fmt: skip
    assert code == 0, out
    assert len(hynas.load(str(tmp_path / "b.db"))) == before[1], "running it again continues, adds nothing"


def test_all_completed_trials_and_evaluator_options_carry_over(tmp_path: Path) -> None:
    src = _search(tmp_path / "a.db", budget=12)
    cfg = rescore_config(str(tmp_path / "a.db"), "all")
    assert cfg.strategy_options["archs"] == [t.arch for t in src] and cfg.budget == 12
    assert cfg.evaluator == src.config.evaluator and cfg.evaluator_options == src.config.evaluator_options
    assert cfg.objectives == src.config.objectives and cfg.constraints == src.config.constraints


def test_given_resumes_where_it_stopped_and_repeats_nothing(tmp_path: Path) -> None:
    space = get_space("nb201")
    import numpy as np

    rng = np.random.default_rng(0)
    archs = list(dict.fromkeys(space.format(space.sample(rng)) for _ in range(8)))
    kw = {"strategy": "given", "strategy_options": {"archs": archs}, "objectives": ("accuracy",)}
    straight = hynas.search(budget=len(archs), **kw)
    part = str(tmp_path / "p.db")
    first = hynas.search(budget=3, store=part, **kw)
    assert [t.arch for t in first] == archs[:3]
    resumed = hynas.search(budget=len(archs), store=part, **kw)
    assert [t.arch for t in resumed] == [t.arch for t in straight] == archs
    assert [t.metrics for t in resumed] == [t.metrics for t in straight]
    assert [t.arch for t in hynas.search(budget=len(archs), seed=5, **kw)] == archs, "no seed changes it"


@pytest.mark.parametrize(
    ("archs", "message"),
    [
        (["|nor_conv_3x3~0|+|bogus~0|"], "is not a nb201 architecture"),
        (["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"] * 2, "listed twice"),
    ],
)
def test_given_refuses_bad_lists_before_anything_is_stored(
    tmp_path: Path, archs: list[str], message: str
) -> None:
    store = tmp_path / "s.db"
    with pytest.raises(HynasError, match=message):
        hynas.search(strategy="given", strategy_options={"archs": archs}, budget=len(archs), store=str(store))
    assert not hynas.load(str(store)) if store.exists() else True


def test_given_says_the_budget_when_asked_past_its_list() -> None:
    arch = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    with pytest.raises(HynasError, match="set the budget to 1"):
        hynas.search(strategy="given", strategy_options={"archs": [arch]}, budget=2, objectives=("accuracy",))
    with pytest.raises(HynasError, match="needs the architectures"):
        hynas.search(strategy="given", budget=2, objectives=("accuracy",))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/missing.db", "--store", "{tmp}/b.db"], "missing.db"),
        (["{tmp}/a.db", "--store", "{tmp}/a.db"], "must be a new store"),
        (["{tmp}/a.db", "--store", "{tmp}/b.db", "--which", "best"], "--which must be"),
        (["{tmp}/a.db", "--store", "{tmp}/b.db", "--evaluator", "nope"], "nope"),
        (["{tmp}/a.db", "--store", "{tmp}/b.db", "--evaluator-option", "bad"], "KEY=VALUE"),
    ],
)
def test_bad_rescore_input_is_one_line_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    _search(tmp_path / "a.db", budget=6)
    before = (tmp_path / "a.db").read_bytes()
    code, out = invoke_cli(["rescore", *(a.format(tmp=tmp_path) for a in args), "-q"])
    assert code != 0 and out.startswith("error: ") and message in out and "\n" not in out.strip(), out
    assert not (tmp_path / "b.db").exists() and not (tmp_path / "missing.db").exists()
    assert (tmp_path / "a.db").read_bytes() == before
