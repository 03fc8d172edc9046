from __future__ import annotations

import sqlite3

import pytest

from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.core.store import TrialRecord
from hynas.runners import run
from hynas.stores import open_store
from hynas.wiring import Experiment


def test_trials_round_trip_and_are_written_once(store_path):
    rec = TrialRecord(
        3, "x", "completed", 12.0, {"a": 1.5, "b": float("inf")}, {"t": 2.0}, 10.0, "", 1.0, 2.0
    )
    with open_store(store_path) as st:
        st.add(rec)
        with pytest.raises(HynasError, match="already in store"):
            st.add(rec)
    with open_store(store_path, create=False) as st:
        assert st.trials() == [rec]


def test_every_trial_committed_before_next_ask(store_path):
    """A second connection sees trial n before the strategy is asked for trial n+1."""
    cfg = ExperimentConfig(strategy="random", objectives=("accuracy",), budget=15)
    exp = Experiment(cfg)
    seen: list[int] = []
    real_ask = exp.strategy.ask

    def ask(n=1):
        with sqlite3.connect(store_path) as db:
            seen.append(db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])
        return real_ask(n)

    exp.strategy.ask = ask  # type: ignore[method-assign]
    with open_store(store_path) as st:
        run(exp, st)
    assert seen == list(range(15))


def test_different_configuration_is_refused_with_the_difference(store_path):
    with open_store(store_path) as st:
        run(Experiment(ExperimentConfig(strategy="random", objectives=("accuracy",), budget=5, seed=1)), st)
    with open_store(store_path) as st, pytest.raises(HynasError, match=r"seed: store has 1, this run has 2"):
        run(Experiment(ExperimentConfig(strategy="random", objectives=("accuracy",), budget=5, seed=2)), st)
    # a larger budget is not a different configuration: it continues
    with open_store(store_path) as st:
        recs = run(
            Experiment(ExperimentConfig(strategy="random", objectives=("accuracy",), budget=8, seed=1)), st
        )
    assert len(recs) == 8


def test_foreign_and_corrupt_files_are_refused_untouched(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(HynasError, match="not a hynas store"):
        open_store(str(text))
    assert text.read_text() == "hello"
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    before = other.read_bytes()
    with pytest.raises(HynasError, match="SQLite file but not a hynas store"):
        open_store(str(other))
    assert other.read_bytes() == before
    good = tmp_path / "good.db"
    with open_store(str(good)) as st:
        st.set_config({"a": 1})
    data = bytearray(good.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    good.write_bytes(bytes(data))
    with pytest.raises(HynasError, match=r"corrupt|not a hynas store"):
        st2 = open_store(str(good))
        st2.trials()


def test_missing_store_for_reading(tmp_path):
    with pytest.raises(HynasError, match="no store at"):
        open_store(str(tmp_path / "nope.db"), create=False)
