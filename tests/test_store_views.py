"""``hynas show`` and ``report`` only read: they never change, checkpoint or add a file beside the
store (a healthy one, one with a foreign ``-wal``, one left by a killed run); and a store in a
folder without write permission is reported as read-only, not as corrupt."""

from __future__ import annotations

import ctypes
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from hynas.core.experiment import ExperimentConfig
from hynas.runners import run
from hynas.stores import open_store
from hynas.wiring import Experiment

CFG = ExperimentConfig(strategy="rea", objectives=("accuracy",), budget=60, seed=5)


def _hynas(*args: str, unprivileged: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from hynas.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_obey_permissions if unprivileged else None,
    )


def _obey_permissions() -> None:
    """In the child: drop the capabilities that let root ignore permission bits
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER) from the bounding set before exec."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "cannot drop capability")


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _one_line_error(r: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def _made(folder: Path, budget: int = 60) -> Path:
    path = folder / "run.db"
    with open_store(str(path)) as st:
        run(Experiment(CFG.__class__(**{**CFG.to_dict(), "budget": budget})), st)
    return path


def _read_and_check_unchanged(path: Path, tmp_path: Path) -> list[dict]:
    before = _hashes(path.parent)
    r = _hynas("show", str(path), "--json")
    shown = json.loads(r.stdout)["trials"] if r.returncode == 0 else None
    rep = _hynas("report", str(path), "--out", str(tmp_path / "report"))
    assert _hashes(path.parent) == before  # not a byte changed, no -wal/-shm appeared
    assert (shown is None) == (rep.returncode != 0)
    return shown if shown is not None else [{"error": _one_line_error(r)}]


def test_show_and_report_leave_a_healthy_store_byte_for_byte(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    path = _made(folder)
    assert sorted(os.listdir(folder)) == ["run.db"]
    shown = _read_and_check_unchanged(path, tmp_path)
    assert len(shown) == 60


def test_a_foreign_wal_beside_the_store_is_refused_and_destroys_nothing(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    path = _made(folder)
    # a stale log of another database, as left by an unrelated program under the same name
    other = tmp_path / "other.db"
    db = sqlite3.connect(other, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE t(x)")
    db.execute("INSERT INTO t VALUES (1)")
    shutil.copy(str(other) + "-wal", str(path) + "-wal")
    db.close()
    shown = _read_and_check_unchanged(path, tmp_path)
    assert "refusing to touch it" in shown[0]["error"] or "does not belong" in shown[0]["error"]
    # a search on it is refused too, before SQLite could apply the log
    r = _hynas("search", "-s", "rea", "--objective", "accuracy", "--budget", "70", "--seed", "5", "-q",
               "--store", str(path))  # fmt: skip
    assert "does not belong" in _one_line_error(r)
    os.unlink(str(path) + "-wal")  # the store itself is whole: all 60 trials are still there
    with open_store(str(path), read_only=True) as st:
        assert len(st.trials()) == 60


def _driver(path: str) -> None:
    with open_store(path) as st:
        run(Experiment(CFG.__class__(**{**CFG.to_dict(), "budget": 400})), st, trial_delay=0.01)


def test_show_reads_trials_committed_only_in_the_wal_of_a_killed_run(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    path = folder / "run.db"
    p = mp.get_context("fork").Process(target=_driver, args=(str(path),))
    p.start()
    deadline = time.time() + 60
    while time.time() < deadline:
        if not path.exists():
            time.sleep(0.02)
            continue
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            try:
                if db.execute("SELECT COUNT(*) FROM trials").fetchone()[0] >= 20:
                    break
            except sqlite3.OperationalError:
                pass
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    p.join()
    assert sorted(os.listdir(folder)) == ["run.db", "run.db-shm", "run.db-wal"]
    # the main file alone holds no trial: every trial is in the log
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(path, alone / "run.db")
    with sqlite3.connect(alone / "run.db") as db:
        assert db.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 0
    shown = _read_and_check_unchanged(path, tmp_path)
    assert len(shown) >= 20 and [t["number"] for t in shown] == list(range(len(shown)))
    # the killed run resumes from it as before
    with open_store(str(path)) as st:
        assert len(run(Experiment(CFG.__class__(**{**CFG.to_dict(), "budget": 400})), st)) == 400


# -- folders without write permission -------------------------------------------------------------
def _check_permissions_apply(folder: Path) -> None:
    probe = f"open({str(folder / 'probe')!r}, 'w')"
    try:
        r = subprocess.run([sys.executable, "-c", probe], preexec_fn=_obey_permissions, capture_output=True)
    except subprocess.SubprocessError:
        pytest.skip("cannot drop root's permission override here")
    if r.returncode == 0:
        pytest.skip("permission bits do not apply to this user here")


def test_store_in_a_read_only_folder_is_reported_read_only_not_corrupt(tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="hynas-ro-"))
    try:
        path = _made(folder, budget=10)
        os.chmod(path, 0o644)
        os.chmod(folder, 0o555)  # readable, not writable
        _check_permissions_apply(folder)
        before = _hashes(folder)
        shown = _hynas("show", str(path), "--json", unprivileged=True)
        assert shown.returncode == 0, shown.stderr
        assert len(json.loads(shown.stdout)["trials"]) == 10
        args = ["search", "-s", "rea", "--objective", "accuracy", "--seed", "5", "-q"]
        line = _one_line_error(_hynas(*args, "--budget", "20", "--store", str(path), unprivileged=True))
        assert "read-only" in line and "corrupt" not in line
        # a new store in that folder, and in a new folder under it
        line = _one_line_error(
            _hynas(*args, "--budget", "3", "--store", str(folder / "new.db"), unprivileged=True)
        )
        assert "cannot create store" in line and "not writable" in line
        line = _one_line_error(
            _hynas(*args, "--budget", "3", "--store", str(folder / "d" / "n.db"), unprivileged=True)
        )
        assert "cannot create the folder" in line
        assert _hashes(folder) == before
    finally:
        os.chmod(folder, 0o755)
        shutil.rmtree(folder)
