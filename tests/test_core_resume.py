"""Kill a real ``hynas search`` process with SIGKILL mid-run, resume it, and compare with an
uninterrupted run: no completed trial lost, none duplicated, same final result."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time

import pytest

from bench_util import load_bench
from cli_util import popen_cli

ARGS = ["search", "--strategy", "rea", "--objective", "accuracy", "--budget", "80", "--seed", "7", "--quiet"]


def _cli(*args: str, **kw) -> subprocess.Popen:
    return popen_cli(*args, **kw)


_count = load_bench("faults").count_rows  # trials stored so far (shared with bench/faults.py)


def _trials(path: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT number, arch, status, metrics, hidden, cost_s FROM trials ORDER BY number"
        ).fetchall()


@pytest.mark.slow
def test_sigkill_then_resume_loses_and_duplicates_nothing(tmp_path):
    ref = str(tmp_path / "ref.db")
    p = _cli(*ARGS, "--store", ref)
    assert p.wait(timeout=120) == 0, p.stderr.read()

    path = str(tmp_path / "killed.db")
    kills = []
    for target in (17, 45):  # kill twice, at different points
        p = _cli(*ARGS, "--store", path, "--trial-delay", "0.05")
        deadline = time.time() + 60
        while _count(path) < target and time.time() < deadline:
            time.sleep(0.01)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        kills.append(_count(path))
    assert kills[0] >= 17 and kills[1] >= 45 and kills[1] < 80  # really killed mid-run
    before = _trials(path)
    p = _cli(*ARGS, "--store", path)
    assert p.wait(timeout=120) == 0, p.stderr.read()
    after = _trials(path)
    assert after[: len(before)] == before  # nothing completed was lost or rewritten
    numbers = [t[0] for t in after]
    assert numbers == list(range(80))  # none duplicated, none missing
    assert [t[1:] for t in after] == [t[1:] for t in _trials(ref)]  # same run as uninterrupted
