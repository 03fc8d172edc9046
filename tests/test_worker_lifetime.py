"""Pool workers live and die with their driver: a driver killed (SIGKILL, SIGTERM) or interrupted
(Ctrl-C to its process group) at a random moment leaves no worker behind — not one blocked on its
pipe, not one in the middle of a long evaluation — so a caller capturing the output returns, and
the same command resumes losing and duplicating nothing. Real processes, tracked through /proc."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from bench_util import load_bench
from cli_util import popen_cli
from hynas.stores import open_store

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc to find the workers")

BUDGET = 40
ARGS = ["search", "-s", "rea", "--objective", "accuracy", "--seed", "5", "--budget", str(BUDGET), "-q"]


def _cli(*args: str, **kw) -> subprocess.Popen:
    return popen_cli(*args, **kw)


#: process and store probes shared with bench/faults.py
_BF = load_bench("faults")
_stat, _children, _alive, _count = _BF.proc_stat, _BF.children, _BF.alive, _BF.count_rows


def _wait_workers(pid: int, n: int, timeout: float = 60) -> dict[int, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = _children(pid)
        if len(kids) >= n:
            return kids
        time.sleep(0.02)
    raise AssertionError(f"the driver started {len(_children(pid))} workers, not {n}")


def _wait_gone(procs: dict[int, int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while _alive(procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _alive(procs)


def _reap(procs: dict[int, int]) -> None:
    """Kill what a failing test left behind (only the workers this test started)."""
    for pid in _alive(procs):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _wait_count(path: str, n: int, p: subprocess.Popen, table: str = "trials", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _count(path, table) < n and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.005)
    assert p.poll() is None, p.communicate()[1]


def _stored(path: str) -> dict[int, tuple]:
    with open_store(path, create=False) as st:
        return {r.number: (r.arch, r.status, r.metrics, r.cost_s) for r in st.trials()}


def _lease(path: str):
    with open_store(path, create=False) as st:
        return st.driver()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
@pytest.mark.parametrize("moment", [0, 1])
def test_a_killed_driver_takes_its_workers_along_and_the_run_resumes(tmp_path, sig, moment):
    store = str(tmp_path / "p.db")
    rng = random.Random(f"{sig}-{moment}")
    p = _cli(*ARGS, "--store", store, "--workers", "2", "--trial-delay", "0.05")
    workers: dict[int, int] = {}
    try:
        workers = _wait_workers(p.pid, 2)
        _wait_count(store, rng.randint(2, BUDGET // 2), p)
        time.sleep(rng.uniform(0, 0.05))  # mid-evaluation, mid-commit or between trials
        os.kill(p.pid, sig)
        t0 = time.monotonic()
        try:
            # the workers inherited the output pipes: this returns only once all of them are gone
            _, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("a caller capturing the output hangs: the workers outlived their driver")
        assert not _wait_gone(workers, 5), "workers outlived their driver"
        assert time.monotonic() - t0 < 10
    finally:
        p.kill()
        _reap(workers)
    assert "Traceback" not in err
    if sig == signal.SIGTERM:  # a clean stop: one line, workers stopped, lease released
        assert p.returncode == 130, err
        line = " ".join(err.split())  # the console wraps long lines
        assert line.startswith("interrupted:") and line.endswith("run the same command to resume")
        assert _lease(store) is None
    else:
        assert p.returncode == -signal.SIGKILL
    before = _stored(store)
    assert 0 < len(before) < BUDGET
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from hynas.cli import main; main()",
            *ARGS,
            "--store",
            store,
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    after = _stored(store)
    assert sorted(after) == list(range(BUDGET))  # none lost or duplicated, none missing
    assert {n: after[n] for n in before} == before  # committed trials unchanged


_SLOW_DRIVER = """
import sys
from hynas.core.experiment import ExperimentConfig
from hynas.wiring import Experiment
from hynas.runners import RunOptions, pool, run
from hynas.runners.faults import FaultyEvaluator
from hynas.stores import open_store

pool._USE_PRCTL = sys.argv[2] == "1"
exp = Experiment(ExperimentConfig(strategy="random", objectives=("accuracy",), budget=10, seed=1))
exp.evaluator = FaultyEvaluator(exp.evaluator, delay_s=float(sys.argv[3]))
try:
    with open_store(sys.argv[1]) as st:
        run(exp, st, options=RunOptions(workers=2))
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.mark.parametrize(
    ("sig", "prctl"),
    [(signal.SIGKILL, True), (signal.SIGKILL, False), (signal.SIGTERM, True)],
    ids=["SIGKILL-prctl", "SIGKILL-watcher", "SIGTERM"],
)
def test_workers_in_a_long_evaluation_die_with_their_driver(tmp_path, sig, prctl):
    """Both workers are 60 s into an evaluation when the driver goes; with prctl off, the portable
    watcher thread alone must end them."""
    store = str(tmp_path / "slow.db")
    p = subprocess.Popen(
        [sys.executable, "-c", _SLOW_DRIVER, store, "1" if prctl else "0", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers: dict[int, int] = {}
    try:
        workers = _wait_workers(p.pid, 2)
        _wait_count(store, 2, p, table="running")  # both trials are being evaluated
        time.sleep(0.2)
        os.kill(p.pid, sig)
        try:
            _, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("a caller capturing the output hangs: the workers outlived their driver")
        assert not _wait_gone(workers, 3), "workers outlived their driver"
    finally:
        p.kill()
        _reap(workers)
    assert "Traceback" not in err
    if sig == signal.SIGTERM:
        assert p.returncode == 130 and _lease(store) is None
    assert _count(store) == 0 and _count(store, "running") == 2  # in flight, re-queued on resume
    r = subprocess.run(
        [sys.executable, "-c", _SLOW_DRIVER, store, "1", "0"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert sorted(_stored(store)) == list(range(10)) and _count(store, "running") == 0


def test_ctrl_c_to_the_process_group_stops_the_pool_run_cleanly(tmp_path):
    """A terminal's Ctrl-C reaches the driver and every worker: one line, exit 130, no worker
    traceback, no worker left, the lease released; the same command then finishes the budget."""
    store = str(tmp_path / "c.db")
    # 0.2 s a trial: the 40 trials take 4 s, so a loaded machine still interrupts the run mid-way.
    # SIGINT at its default, as in a terminal's foreground job: a test run started in the background
    # of a non-interactive shell inherits it ignored, and Python then never raises KeyboardInterrupt
    p = _cli(*ARGS, "--store", store, "--workers", "2", "--trial-delay", "0.2", start_new_session=True,
             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    workers: dict[int, int] = {}
    try:
        workers = _wait_workers(p.pid, 2)
        _wait_count(store, 5, p)
        os.killpg(p.pid, signal.SIGINT)
        _, err = p.communicate(timeout=15)
        assert not _wait_gone(workers, 5)
    finally:
        p.kill()
        _reap(workers)
    assert p.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert _lease(store) is None
    before = _stored(store)
    p = _cli(*ARGS, "--store", store, "--workers", "2")
    assert p.wait(timeout=120) == 0, p.communicate()[1]
    after = _stored(store)
    assert sorted(after) == list(range(BUDGET)) and {n: after[n] for n in before} == before


@pytest.mark.parametrize("moment", [0, 1])
def test_sigterm_stops_a_sequential_run_cleanly(tmp_path, moment):
    """Without workers too: SIGTERM is one line and exit 130, the lease is released (the rerun
    needs no wait) and the same command resumes losing and duplicating nothing."""
    store = str(tmp_path / "s.db")
    rng = random.Random(f"seq-{moment}")
    p = _cli(*ARGS, "--store", store, "--trial-delay", "0.05")
    try:
        _wait_count(store, rng.randint(2, BUDGET // 2), p)
        time.sleep(rng.uniform(0, 0.05))
        os.kill(p.pid, signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert p.returncode == 130 and "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted:"), err
    assert _lease(store) is None
    before = _stored(store)
    assert 0 < len(before) < BUDGET
    r = subprocess.run(
        [sys.executable, "-c", "from hynas.cli import main; main()", *ARGS, "--store", store],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    after = _stored(store)
    assert sorted(after) == list(range(BUDGET)) and {n: after[n] for n in before} == before
