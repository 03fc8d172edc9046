"""Crash safety of the store itself: a process killed (or a disk full) while a store is being
created, a dead driver's lease, and two searches started on one store at once."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.runners import RunOptions, run
from hynas.stores import SCHEMA_VERSION, open_store
from hynas.stores.lease import pid_namespace
from hynas.wiring import Experiment

CREATOR = (
    "import sys, time; from hynas.stores import open_store; print('ready', flush=True); "
    "sys.stdin.readline(); t = time.perf_counter(); open_store(sys.argv[1]).close(); "
    "print(time.perf_counter() - t, flush=True); time.sleep(60)"
)


def _creator(path: str) -> subprocess.Popen:
    p = subprocess.Popen(
        [sys.executable, "-c", CREATOR, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    return p


@pytest.mark.parametrize("kills", [24, pytest.param(150, marks=pytest.mark.slow)])
def test_store_killed_at_many_moments_while_being_created_always_resumes(tmp_path, kills):
    """Real processes SIGKILLed from the start of creation to just after it; every rerun works."""
    # how long creation takes here
    p = _creator(str(tmp_path / "timing.db"))
    assert p.stdin is not None and p.stdout is not None
    p.stdin.write("\n")
    p.stdin.flush()
    took = float(p.stdout.readline())
    p.kill()
    p.wait()
    rng = random.Random(0)
    outcomes = {"none": 0, "whole": 0}
    for i in range(kills):
        path = tmp_path / f"k{i}" / "run.db"
        path.parent.mkdir()
        p = _creator(str(path))
        assert p.stdin is not None
        p.stdin.write("\n")
        p.stdin.flush()
        if i == kills - 1:  # the last kill lands after creation finished, however slow it was
            assert p.stdout is not None
            p.stdout.readline()
        else:  # from the start of creation to a little past its measured length (0 for the first)
            time.sleep(0 if i == 0 else rng.uniform(0, took * 1.3))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        outcomes["whole" if path.exists() else "none"] += 1
        with open_store(str(path)) as st:  # the rerun always works
            assert st.schema_version() == SCHEMA_VERSION and st.trials() == [] and st.config() is None
        # and a hidden half-built file left by the kill is cleaned up by that rerun
        assert sorted(os.listdir(path.parent)) == ["run.db"]
    assert outcomes["none"] and outcomes["whole"], outcomes  # kills landed both before and after


def test_half_created_store_of_an_older_hynas_is_finished(tmp_path):
    """An older hynas marked the file, switched to WAL, then was killed before the tables."""
    import sqlite3

    from hynas.stores.sqlite import APPLICATION_ID

    path = tmp_path / "half.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA application_id={APPLICATION_ID}")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    cfg = ExperimentConfig(strategy="random", objectives=("accuracy",), budget=4, seed=1)
    with open_store(str(path)) as st:
        assert len(run(Experiment(cfg), st)) == 4


@pytest.mark.parametrize("limit", [0, 4096, 12288, 20000])
def test_full_disk_while_creating_leaves_nothing_and_the_rerun_works(tmp_path, limit):
    """The OS refuses to grow files (RLIMIT_FSIZE) while the store is created: one error line,
    no file left behind, and the same command works once there is room."""
    path = tmp_path / "runs" / "fs.db"
    code = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
        "from hynas.cli import main; main()"
    )
    args = ["search", "-s", "random", "--objective", "accuracy", "--budget", "3", "-q", "--store", str(path)]
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cannot create store" in lines[0] and "Traceback" not in p.stderr
    assert os.listdir(path.parent) == []
    with open_store(str(path)) as st:
        assert st.schema_version() == SCHEMA_VERSION


# -- the driver lease: the heartbeat decides ---------------------------------------------------------
def _lease(store, pid: int, age_s: float, pidns: str) -> None:
    lease = {"host": socket.gethostname(), "pid": pid, "token": "old", "heartbeat": time.time() - age_s}
    store._set_meta("driver", json.dumps({**lease, "pidns": pidns}))


@pytest.mark.parametrize("pid", [1, os.getppid()])
def test_a_live_pid_with_an_old_heartbeat_is_taken_over(store_path, pid):
    """PID 1 of a container, or a reused pid: the process runs, but it is not the driver."""
    with open_store(store_path) as st:
        _lease(st, pid, age_s=60, pidns=pid_namespace())
        assert st.acquire("new", lease_s=30).pid == pid  # type: ignore[union-attr]
        _lease(st, pid, age_s=1, pidns=pid_namespace())
        with pytest.raises(HynasError, match="in use by another search"):
            st.acquire("new2", lease_s=30)


def test_a_gone_pid_counts_only_in_the_same_pid_namespace(store_path):
    with open_store(store_path) as st:
        _lease(st, 999_999_999, age_s=1, pidns=pid_namespace())
        assert st.acquire("a", lease_s=30) is not None  # dead at once: same host, same namespace
        _lease(st, 999_999_999, age_s=1, pidns="pid:[0]")  # a driver in another container
        with pytest.raises(HynasError, match="in use by another search"):
            st.acquire("b", lease_s=30)


def _slow_driver(path: str) -> None:
    cfg = ExperimentConfig(strategy="random", objectives=("accuracy",), budget=3, seed=1)
    with open_store(path) as st:
        run(Experiment(cfg), st, trial_delay=1.5, options=RunOptions(lease_s=0.9))


def test_sqlite_driver_heartbeats_during_a_long_in_process_trial(store_path):
    p = mp.get_context("fork").Process(target=_slow_driver, args=(store_path,))
    p.start()
    try:
        time.sleep(2.5)  # inside the second 1.5 s trial
        assert p.is_alive()
        with open_store(store_path) as st:
            lease = st.driver()
            assert lease is not None and lease.pid == p.pid
            assert time.time() - lease.heartbeat < 0.9  # beaten while the trial ran
            with pytest.raises(HynasError, match="in use by another search"):
                st.acquire("intruder", lease_s=0.9)
    finally:
        p.join(30)
    assert p.exitcode == 0


# -- two searches on one store at once ----------------------------------------------------------------
def _search_cmd(store: str, budget: int) -> list[str]:
    return [
        sys.executable, "-c", "from hynas.cli import main; main()", "search", "-s", "rea",
        "--objective", "accuracy", "--budget", str(budget), "--seed", "3", "-q", "--json",
        "--trial-delay", "0.001", "--store", store,
    ]  # fmt: skip


def _pair(tmp_path: Path, i: int, rng: random.Random) -> list[tuple[int, str]]:
    store = str(tmp_path / f"pair{i}.db")
    if i % 3:  # most pairs start on a store that already holds trials
        subprocess.run(_search_cmd(store, 200), capture_output=True, timeout=120, check=True)
    # the first writes a trial every ~2 ms while the second replays the store
    first = subprocess.Popen(
        _search_cmd(store, 1500), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(rng.uniform(0, 1.0))
    second = subprocess.Popen(
        _search_cmd(store, 1500), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out = []
    for p in (first, second):
        _, err = p.communicate(timeout=300)
        out.append((p.returncode, err))
    with open_store(store) as st:
        recs = st.trials()
    assert [r.number for r in recs] == list(range(1500))
    return out


def _check_pairs(tmp_path: Path, pairs: int) -> None:
    rng = random.Random(1)
    refused = 0
    for i in range(pairs):
        for code, err in _pair(tmp_path, i, rng):
            assert "Traceback" not in err, err
            if code:
                lines = [ln for ln in err.splitlines() if ln.strip()]
                assert code == 2 and len(lines) == 1, err
                assert "by another search" in lines[0], err
                refused += 1
    assert refused


def test_two_searches_started_on_one_store_run_or_are_refused(tmp_path):
    _check_pairs(tmp_path, 3)


@pytest.mark.slow
def test_two_searches_on_one_store_18_times(tmp_path):
    _check_pairs(tmp_path, 18)
