"""The ``pruned`` status in the stores (schema 4): every backend keeps it, and a schema-3 store is
upgraded when opened for writing (its table's status check is widened; rows and checksums kept)
while a read-only view reads it as it is."""

from __future__ import annotations

import sqlite3

import pytest

import hynas
from hynas.core.errors import HynasError
from hynas.core.store import TrialRecord
from hynas.stores import SCHEMA_VERSION, MemoryStore, open_store
from hynas.stores.schema import COLUMNS, TRIALS_DDL

PRUNED = TrialRecord(number=0, arch="x", status="pruned", error="stopped at epoch 3", finished_at=2.0)


def _finish_pruned(st) -> None:
    st.start(0, "x", None, asked_after=0)
    assert st.finish(PRUNED) == 0
    st.add(TrialRecord(number=1, arch="y", status="pruned"))
    assert [(r.number, r.status) for r in st.trials()] == [(0, "pruned"), (1, "pruned")]
    assert st.trials()[0] == PRUNED
    with pytest.raises(HynasError, match=r"cannot (finish|store) trial 2 with status 'stopped'"):
        st.start(2, "z", None, asked_after=2)
        st.finish(TrialRecord(number=2, arch="z", status="stopped"))


def test_every_backend_keeps_pruned_trials(location):
    with open_store(location) as st:
        assert st.schema_version() == SCHEMA_VERSION == 4
        _finish_pruned(st)
    with open_store(location, read_only=True) as st:
        assert st.trials()[0] == PRUNED


def test_the_memory_store_keeps_pruned_trials():
    _finish_pruned(MemoryStore())


def _downgrade_to_v3(path: str) -> None:
    """The trials table as schema 3 made it: a status check without 'pruned'."""
    old = TRIALS_DDL.format(table="trials_v3").replace(", 'pruned'", "")
    assert "'pruned'" not in old
    with sqlite3.connect(path) as db:
        db.execute(old)
        db.execute(f"INSERT INTO trials_v3({COLUMNS}, checksum) SELECT {COLUMNS}, checksum FROM trials")
        db.execute("DROP TABLE trials")
        db.execute("ALTER TABLE trials_v3 RENAME TO trials")
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")


def test_a_v3_store_is_read_as_it_is_and_widened_when_opened_for_writing(tmp_path):
    path = str(tmp_path / "v3.db")
    ref = hynas.search(strategy="random", objectives=("accuracy",), budget=5, seed=1, store=path).trials
    _downgrade_to_v3(path)
    with sqlite3.connect(path) as db, pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        db.execute("UPDATE trials SET status = 'pruned' WHERE number = 0")  # schema 3 refuses it
    with open_store(path, read_only=True) as st:  # a view reads a copy, never migrates the file
        assert st.trials() == ref
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
    with open_store(path) as st:
        assert st.schema_version() == SCHEMA_VERSION
        assert st.trials() == ref  # the same rows, and their checksums still match
        st.start(5, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", None, asked_after=5)
        st.finish(
            TrialRecord(number=5, arch="|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", status="pruned")
        )
    study = hynas.load(path)
    assert [t.status for t in study] == ["completed"] * 5 + ["pruned"]
    assert study.front() and 5 not in {t.number for t in study.front()}
    with sqlite3.connect(path) as db:  # and the widened table still checks damage
        db.execute("UPDATE trials SET error = 'edited' WHERE number = 5")
    with pytest.raises(HynasError, match="trial 5 does not match its checksum"):
        hynas.load(path)


def test_an_ask_tell_study_on_every_backend(location):
    settings = {"space": "nb201", "objectives": ["score:max", "params"], "strategy": "nsga2", "seed": 2}
    with hynas.create_study(store=location, **settings) as study:
        study.tell(study.ask(), {"score": 1.0})
        study.tell(study.ask(), state="pruned")
        asked = study.ask()
    with hynas.create_study(store=location, **settings) as study:
        assert [t.status for t in study] == ["completed", "pruned"] and study.pending == [2]
        again = study.ask()
        assert (again.number, again.arch) == (asked.number, asked.arch)
        study.tell(again, {"score": 2.0})
    assert [t.status for t in hynas.load(location)] == ["completed", "pruned", "completed"]
