"""Ask/tell from Python (``hynas.create_study``): what is told is committed as the CLI commits a
trial, failed and pruned trials are recorded as such, and bad input is one clear error.

The kills and the second process are in ``tests/test_ask_tell_process.py``."""

from __future__ import annotations

import json
import math
import sqlite3
import time

import pytest

import hynas
from cli_util import invoke_cli
from hynas.core.errors import HynasError

SPACE = "nb201"
OBJECTIVES = ["score:max", "params"]


def score(trial) -> float:
    """A toy metric of the architecture: the same architecture always scores the same."""
    return float(sum((i + 1) * g for i, g in enumerate(trial.arch.genes)))


def new(store=None, **kw):
    settings = {"space": SPACE, "objectives": OBJECTIVES, "strategy": "nsga2", "seed": 3, **kw}
    return hynas.create_study(store=store, **settings)


def test_a_loop_is_committed_as_a_search_and_read_back_by_load_and_show(tmp_path):
    import torch

    path = str(tmp_path / "at.db")
    with new(path, strategy="random", objectives=["convs:max", "params"]) as study:
        for _ in range(4):
            trial = study.ask()
            net = trial.build()  # the space's own PyTorch network
            convs = sum(isinstance(m, torch.nn.Conv2d) for m in net.modules())
            rec = study.tell(trial, {"convs": convs})
            assert rec.ok and rec.metrics["convs"] == convs and trial.state == "completed"
            assert rec.metrics["params"] == pytest.approx(trial.computed["params"])
        told = list(study)
    assert len(told) == 4 and len({t.arch for t in told}) == 4
    loaded = hynas.load(path)
    assert loaded.trials == told
    assert loaded.config.evaluator == "told" and loaded.objectives == ["convs", "params"]
    assert [o.direction for o in loaded.experiment.objectives] == ["max", "min"]
    code, out = invoke_cli(["show", path, "--json"])
    assert code == 0
    shown = json.loads(out)
    assert [t["arch"] for t in shown["trials"]] == [t.arch for t in told]
    assert shown["trials"][0]["metrics"] == told[0].metrics
    with sqlite3.connect(path) as db:  # one committed row per told trial, nothing left running
        assert db.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 4
        assert db.execute("SELECT COUNT(*) FROM running").fetchone()[0] == 0


def test_failed_and_pruned_trials_are_recorded_shown_and_left_out_of_the_front(tmp_path):
    path = str(tmp_path / "fp.db")
    with new(path) as study:
        states = ["completed", "failed", "pruned", "completed", "pruned"]
        for state in states:
            trial = study.ask()
            if state == "completed":
                study.tell(trial, {"score": score(trial)})
            elif state == "failed":
                study.tell(trial, state="failed", error="CUDA out of memory")
            else:
                study.tell(trial, state="pruned")
            assert trial.state == state
        assert [t.status for t in study] == states
        front = {t.number for t in study.front()}
        assert front and front <= {0, 3}
        assert study.best("score").number in (0, 3)
    loaded = hynas.load(path)
    assert [r["status"] for r in loaded.rows()] == states
    assert loaded[1].error == "CUDA out of memory" and loaded[2].metrics == {}
    code, out = invoke_cli(["show", path])
    assert code == 0 and "failed: CUDA out of memory" in out
    assert sum("│ pruned " in line for line in out.splitlines()) == 2
    code, out = invoke_cli(["report", path, "--out", str(tmp_path / "rep")])
    assert code == 0
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "5 (2 completed, 1 failed, 2 pruned)" in text
    for number, why in ((1, "failed (CUDA out of memory)"), (2, "was pruned")):
        code, out = invoke_cli(
            ["export", path, "--trial", str(number), "--out", str(tmp_path / f"x{number}")]
        )
        assert code != 0 and f"trial {number} of" in out and why in out, out


def test_to_optuna_shows_pruned_trials_as_pruned(tmp_path):
    from optuna.trial import TrialState

    with new() as study:
        for state in ("completed", "pruned", "failed", "completed"):
            trial = study.ask()
            study.tell(trial, {"score": score(trial)} if state == "completed" else None, state=state)
        out = study.to_optuna(f"sqlite:///{tmp_path / 'o.db'}", "at")
    assert [t.state for t in out.trials] == [
        TrialState.COMPLETE,
        TrialState.PRUNED,
        TrialState.FAIL,
        TrialState.COMPLETE,
    ]
    assert out.trials[1].values is None and "error" not in out.trials[1].user_attrs


@pytest.mark.parametrize("strategy", ["rea", "local", "optuna-tpe"])
def test_telling_what_the_search_evaluates_asks_what_the_search_asks(strategy):
    """Told the NB201 table's accuracy, a study asks exactly the architectures `hynas.search` asks
    and stores the same metrics: tell commits and tells the strategy as the runner does."""
    from hynas.evaluators import make_evaluator

    table = make_evaluator("nb201", "nb201-tabular")
    searched = hynas.search(strategy=strategy, objectives=("accuracy",), budget=12, seed=5)
    with hynas.create_study(
        space="nb201", objectives=["accuracy:max"], strategy=strategy, seed=5, budget=12
    ) as study:
        for _ in range(12):
            t = study.ask()
            study.tell(t, {"accuracy": table.evaluate(t.arch).metrics["accuracy"]})
    assert [t.arch for t in study] == [t.arch for t in searched]
    assert [t.metrics["accuracy"] for t in study] == [t.metrics["accuracy"] for t in searched]


def test_a_study_reopened_after_every_trial_asks_as_an_uninterrupted_one(tmp_path):
    path = str(tmp_path / "re.db")
    with new() as straight:
        for _ in range(8):
            t = straight.ask()
            straight.tell(t, {"score": score(t)})
    for _ in range(8):
        with new(path) as study:
            t = study.ask()
            study.tell(t, {"score": score(t)})
    assert [t.arch for t in hynas.load(path)] == [t.arch for t in straight]


def test_a_study_asks_several_before_telling_and_tells_out_of_order(tmp_path):
    path = str(tmp_path / "many.db")
    with new(path) as study:
        trials = [study.ask() for _ in range(3)]
        assert [t.number for t in trials] == [0, 1, 2] and len({t.arch for t in trials}) == 3
        assert study.pending == [0, 1, 2]
        for t in reversed(trials):
            study.tell(t, {"score": score(t)})
        assert study.pending == [] and [t.number for t in study] == [0, 1, 2]
        later = [study.ask() for _ in range(2)]
    # reopened: the two asked-not-told trials come back first, by number, with their architectures
    with new(path) as again:
        assert again.pending == [3, 4]
        back = [again.ask(), again.ask()]
        assert [(t.number, t.arch) for t in back] == [(t.number, t.arch) for t in later]
        fresh = again.ask()
        assert fresh.number == 5 and fresh.arch not in {t.arch for t in [*trials, *later]}


def test_budget_is_the_most_trials_asked_and_a_larger_one_continues(tmp_path):
    path = str(tmp_path / "b.db")
    with new(path, budget=2) as study:
        for _ in range(2):
            t = study.ask()
            study.tell(t, {"score": score(t)})
        with pytest.raises(
            HynasError, match=r"budget \(2 trials\) is spent; create_study\(\.\.\., budget=\.\.\.\)"
        ):
            study.ask()
    with new(path, budget=3) as study:
        assert study.ask().number == 2
    assert hynas.load(path).config.budget == 3
    with new(budget_seconds=0.2) as timed:  # seconds of training: from ask to tell
        t = timed.ask()
        time.sleep(0.25)
        assert timed.tell(t, 1.0).cost_s >= 0.25
        with pytest.raises(HynasError, match=r"budget \(0.2 s of training\) is spent"):
            timed.ask()


def test_settings_left_out_come_from_the_store_and_different_ones_are_refused(tmp_path):
    path = str(tmp_path / "s.db")
    with new(path, constraints=["params <= 1.0"], metrics=["val_loss:min"]) as study:
        t = study.ask()
        study.tell(t, {"score": 1.0, "val_loss": 0.5})
    with hynas.create_study(store=tmp_path / "s.db") as again:  # everything from the store
        assert again.config == study.config and len(again) == 1
    with pytest.raises(HynasError, match="seed: store has 3, this run has 4"):
        new(path, seed=4, constraints=["params <= 1.0"], metrics=["val_loss:min"])
    with pytest.raises(HynasError, match="already holds a study; continue it with load_if_exists=True"):
        hynas.create_study(store=path, load_if_exists=False)


def test_memory_study_and_load_is_read_only():
    study = new()
    t = study.ask()
    study.tell(t, 2.5)  # one told metric: a plain number
    assert study[0].metrics["score"] == 2.5 and study.location is None
    study.close()
    with pytest.raises(HynasError, match="this study is closed"):
        study.ask()


def test_a_loaded_study_cannot_ask(tmp_path):
    path = str(tmp_path / "ro.db")
    with new(path) as study:
        study.tell(study.ask(), 1.0)
    with pytest.raises(HynasError, match=r"read-only; continue it with hynas.create_study\(store="):
        hynas.load(path).ask()


def test_tell_refuses_bad_metrics_with_one_clear_error(tmp_path):
    with new(metrics=["val_loss:min"]) as study, new() as other:
        trial = study.ask()
        cases = [
            ({"score": 1.0}, r"trial 0 misses metric\(s\) val_loss"),
            (
                {"score": 1.0, "val_loss": 1.0, "acc": 3.0},
                r"unknown metric 'acc' for trial 0; this study's told",
            ),
            ({"score": 1.0, "val_loss": 1.0, "params": 3.0}, r"'params' is computed by hynas"),
            ({"score": math.nan, "val_loss": 1.0}, r"metric 'score' of trial 0 is nan, not finite"),
            ({"score": 1.0, "val_loss": math.inf}, r"metric 'val_loss' of trial 0 is inf, not finite"),
            ({"score": True, "val_loss": 1.0}, r"must be a number, got True"),
            ({"score": "9", "val_loss": 1.0}, r"must be a number, got '9'"),
            (3.0, r"tell needs the metrics of trial 0 as a dict"),
        ]
        for values, message in cases:
            with pytest.raises(HynasError, match=message):
                study.tell(trial, values)
        with pytest.raises(HynasError, match="bad state 'done'"):
            study.tell(trial, {"score": 1.0, "val_loss": 1.0}, state="done")
        with pytest.raises(HynasError, match="a pruned trial has no metrics"):
            study.tell(trial, {"score": 1.0}, state="pruned")
        with pytest.raises(HynasError, match="trial 0 belongs to another study"):
            other.tell(trial, {"score": 1.0})
        with pytest.raises(HynasError, match=r"tell takes a trial from study\.ask"):
            study.tell(0, {"score": 1.0})  # type: ignore[arg-type]
        assert study.pending == [0] and len(study) == 0  # nothing was stored by the refusals
        study.tell(trial, {"score": 1.0, "val_loss": 0.25})
        with pytest.raises(HynasError, match=r"trial 0 was already told \(completed\)"):
            study.tell(trial, {"score": 1.0, "val_loss": 0.25})
        assert len(study) == 1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"objectives": ["score"]}, r"objective 'score' is not a metric hynas computes .* 'score:max'"),
        ({"objectives": "score:max"}, r"bad objectives 'score:max': it must be a list"),
        ({"constraints": ["val_loss <= 1"]}, r"declare it with metrics=\['val_loss:min'\]"),
        ({"metrics": ["val_loss"]}, r"bad told metric 'val_loss': give NAME:max or NAME:min"),
        ({"objectives": ["params"]}, r"hynas computes every objective \(params\) itself"),
        ({"objectives": ["score:min"], "metrics": ["score:max"]}, r"contradicts metric 'score:max'"),
        ({"strategy": "nope"}, r"unknown strategy 'nope'"),
        ({"space": "nope"}, r"unknown space 'nope'"),
        ({"seed": -1}, r"bad seed -1"),
    ],
)
def test_create_study_refuses_bad_settings_before_writing(tmp_path, settings, message):
    path = tmp_path / "bad.db"
    with pytest.raises(HynasError, match=message):
        new(str(path), **settings)
    assert not path.exists()


def test_a_new_study_needs_space_and_objectives_and_a_search_store_is_not_one(tmp_path):
    with pytest.raises(HynasError, match="a new study needs space= and objectives="):
        hynas.create_study(store=str(tmp_path / "none.db"))
    path = str(tmp_path / "search.db")
    hynas.search(strategy="random", objectives=("accuracy",), budget=2, store=path)
    with pytest.raises(HynasError, match="holds a search run by `hynas search`"):
        hynas.create_study(store=path)


def test_the_runners_refuse_an_ask_tell_study(tmp_path):
    path = str(tmp_path / "cli.db")
    with new(path) as study:
        study.tell(study.ask(), 1.0)
    code, out = invoke_cli(
        [
            "search",
            "--store",
            path,
            "--space",
            SPACE,
            "--evaluator",
            "told",
            "--evaluator-option",
            "space=nb201",
            "--evaluator-option",
            "metrics=score:max",
            "--objective",
            "score:max",
            "--objective",
            "params",
            "--strategy",
            "nsga2",
            "--seed",
            "3",
        ]
    )
    assert code == 2 and "cannot evaluate: its metrics are told by your own training loop" in out
    assert len(hynas.load(path)) == 1
    with pytest.raises(HynasError, match="cannot evaluate"):
        hynas.search(
            space=SPACE,
            evaluator="told",
            evaluator_options={"space": SPACE, "metrics": ["s:max"]},
            objectives=("s",),
            store=str(tmp_path / "never.db"),
        )
    assert not (tmp_path / "never.db").exists()


def test_the_evaluator_contract_holds_the_told_evaluator_to_its_word(monkeypatch):
    from hynas.core.evaluator import Evaluation
    from hynas.evaluators import EVALUATORS
    from hynas.evaluators.told import ToldEvaluator
    from hynas.testing.evaluators import check_evaluator

    class Pretends(ToldEvaluator):
        """Says its metrics are told, yet evaluates."""

        def evaluate(self, arch, fidelity=None):
            return Evaluation({"score": 1.0})

    monkeypatch.setattr(EVALUATORS, "_entries", dict(EVALUATORS._entries))
    EVALUATORS.register("pretends")(Pretends)
    options = {"space": "nb201", "metrics": ["score:max"]}
    check_evaluator("nb201", "told", options)
    with pytest.raises(AssertionError, match="has evaluates=False but evaluate\\(\\) returned"):
        check_evaluator("nb201", "pretends", options)
