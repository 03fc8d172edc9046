"""The store contract on every backend (SQLite file and a real PostgreSQL server), schema
versioning and migration from a v1 file, concurrent writers, read-only and full stores."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from extras import need_module
from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.core.store import TrialRecord
from hynas.runners import run
from hynas.stores import SCHEMA_VERSION, open_store
from hynas.wiring import Experiment

V1 = Path(__file__).parent / "data" / "store_v1.db"
V1_CONFIG = ExperimentConfig(strategy="random", objectives=("accuracy", "latency@raspi4"), budget=12, seed=3)


def test_round_trip_running_and_finished(location):
    rec = TrialRecord(
        0, "x", "completed", 12.0, {"a": 1.5, "b": float("inf")}, {"t": 2.0}, 10.0, "", 1.0, 2.0
    )
    with open_store(location) as st:
        assert st.schema_version() == SCHEMA_VERSION
        st.set_config({"k": [1, 2]})
        st.add(rec)
        with pytest.raises(HynasError, match="already in store"):
            st.add(rec)
        st.start(1, "y", None, asked_after=1)
        with pytest.raises(HynasError, match="already in store"):
            st.start(1, "y", None, asked_after=1)
        assert st.trials() == [rec]  # a running trial is not a finished one
        failed = TrialRecord(1, "y", "failed", None, error="boom", started_at=3.0, finished_at=4.0)
        assert st.finish(failed, attempts=2) == 1
        with pytest.raises(HynasError, match="already in store"):
            st.finish(failed)
    with open_store(location, create=False) as st:
        assert st.config() == {"k": [1, 2]}
        assert st.trials() == [rec, failed]
        sched = st.schedule()
        assert [(s.number, s.told_seq, s.attempts) for s in sched] == [(0, 0, 1), (1, 1, 2)]


def _search(location: str, budget: int, seed: int = 5) -> list[TrialRecord]:
    cfg = ExperimentConfig(strategy="rea", objectives=("accuracy",), budget=budget, seed=seed)
    with open_store(location) as st:
        return run(Experiment(cfg), st)


def _key(recs):
    return [(r.number, r.arch, r.status, r.metrics, r.hidden, r.cost_s) for r in recs]


def test_seeded_run_is_reproducible_and_resumes_on_every_backend(location, tmp_path):
    ref = _search(str(tmp_path / "ref.db"), 30)
    _search(location, 12)
    resumed = _search(location, 30)
    assert _key(resumed) == _key(ref)
    with open_store(location) as st:
        assert _key(st.trials()) == _key(ref)


def _claimer(location: str, n: int, tag: str) -> None:
    with open_store(location) as st:
        for i in range(n):
            number = st.claim(f"{tag}-{i}", worker=tag)
            st.finish(TrialRecord(number, f"{tag}-{i}", "completed", metrics={"a": float(i)}))


def test_many_processes_append_without_losing_a_write(location):
    open_store(location).close()
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_claimer, args=(location, 40, f"w{k}")) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with open_store(location) as st:
        recs = st.trials()
        assert [r.number for r in recs] == list(range(160))  # dense, none lost, none twice
        assert sorted(r.arch for r in recs) == sorted(f"w{k}-{i}" for k in range(4) for i in range(40))
        assert sorted(s.told_seq for s in st.schedule()) == list(range(160))


def test_v1_store_is_migrated_and_resumes_like_a_fresh_run(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(V1, path)
    with sqlite3.connect(V1) as db:
        old_rows = db.execute("SELECT number, arch, status, metrics, hidden, cost_s FROM trials").fetchall()
        assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "1"
    with open_store(str(path)) as st:
        assert st.schema_version() == SCHEMA_VERSION
        assert len(st.trials()) == len(old_rows) == 12
        assert [(s.asked_after, s.told_seq) for s in st.schedule()] == [(i, i) for i in range(12)]
    with sqlite3.connect(path) as db:
        new_rows = db.execute("SELECT number, arch, status, metrics, hidden, cost_s FROM trials").fetchall()
    assert new_rows == old_rows
    # the migrated store continues exactly like an uninterrupted run of the same configuration
    cfg = V1_CONFIG.__class__(**{**V1_CONFIG.to_dict(), "budget": 18})
    with open_store(str(path)) as st:
        resumed = run(Experiment(cfg), st)
    with open_store(str(tmp_path / "fresh.db")) as st:
        fresh = run(Experiment(cfg), st)
    assert [(r.arch, r.metrics) for r in resumed] == [(r.arch, r.metrics) for r in fresh]


def test_a_path_that_is_not_a_regular_file_is_refused_and_left_alone(tmp_path):
    """A device, pipe or socket (e.g. /dev/null, whose size reads 0) is never taken for a missing
    store: building a store there would replace it."""
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    for create in (True, False):
        with pytest.raises(HynasError, match="not a regular file"):
            open_store(str(fifo), create=create)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and sorted(os.listdir(tmp_path)) == ["pipe.db"]


def test_newer_schema_is_refused(tmp_path):
    path = str(tmp_path / "new.db")
    open_store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(HynasError, match="schema version 99, newer"):
        open_store(path)


def test_read_only_store_gives_a_clear_error_and_stays_intact(tmp_path):
    path = tmp_path / "ro.db"
    _search(str(path), 6)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = path.read_bytes()
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    try:
        with open_store(str(path)) as st:
            assert len(st.trials()) == 6  # still readable
        with pytest.raises(HynasError, match="read-only"):
            _search(str(path), 10)
    finally:
        path.chmod(0o644)
    assert path.read_bytes() == before


def test_full_store_fails_cleanly_without_corrupting_earlier_trials(tmp_path):
    """SQLite's page limit makes the database report SQLITE_FULL, as a full disk does."""
    path = str(tmp_path / "full.db")
    ref = _search(str(tmp_path / "ref.db"), 200)
    cfg = ExperimentConfig(strategy="rea", objectives=("accuracy",), budget=200, seed=5)
    with open_store(path) as st:
        pages = st._db.execute("PRAGMA page_count").fetchone()[0]
        st._db.execute(f"PRAGMA max_page_count = {pages + 3}")
        with pytest.raises(HynasError, match=r"cannot write to store .*full"):
            run(Experiment(cfg), st)
    with open_store(path) as st:
        kept = st.trials()
        assert st._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert 0 < len(kept) < 200
    assert _key(kept) == _key(ref[: len(kept)])
    assert _key(_search(path, 200)) == _key(ref)  # and it resumes once there is room


@pytest.mark.slow
def test_disk_full_in_a_real_cli_process(tmp_path):
    """The OS refuses to grow the file (RLIMIT_FSIZE): one error line, exit 2, store intact."""
    path = str(tmp_path / "fs.db")
    code = (
        "import resource, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (300000, 300000)); "
        "from hynas.cli import main; main()"
    )
    args = ["search", "--strategy", "rea", "--objective", "accuracy", "--budget", "400", "--seed", "5", "-q"]
    p = subprocess.run(
        [sys.executable, "-c", code, *args, "--store", path], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cannot write to store" in lines[0] and "Traceback" not in p.stderr
    with open_store(path) as st:
        kept = st.trials()
        assert st._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ref = _search(str(tmp_path / "ref.db"), 400)
    assert 0 < len(kept) < 400 and _key(kept) == _key(ref[: len(kept)])


def test_bad_urls_and_names(tmp_path):
    """Needs no extra: the scheme and the store name are checked before psycopg is imported."""
    from hynas.stores.postgres import split_url

    with pytest.raises(HynasError, match="unsupported store URL scheme 'mysql'"):
        open_store("mysql://x/y")
    with pytest.raises(HynasError, match="bad store name"):
        split_url("postgresql://127.0.0.1/db?store=Bad-Name")
    try:
        import psycopg  # noqa: F401
    except ImportError:  # without the extra: one line naming it
        with pytest.raises(HynasError, match=r"pip install 'hynas\[postgres\]'"):
            open_store("postgresql://127.0.0.1/db")
    assert not os.path.exists(tmp_path / "x")


def test_bad_postgres_urls_with_psycopg():
    need_module("psycopg", "postgres")
    with pytest.raises(HynasError, match="bad store name"):
        open_store("postgresql://127.0.0.1/db?store=Bad-Name")
    with pytest.raises(HynasError, match="cannot connect to PostgreSQL"):
        open_store("postgresql://nobody:x@127.0.0.1:1/none")
