"""Ask/tell studies in real processes: a script killed with SIGKILL mid-loop and run again
continues with no told trial lost or repeated, and a second process on the same SQLite store is
refused while the first holds the study (its heartbeat keeps the lease), then continues it.

Each test starts two or three Python processes (about 3 s each on 2 shared cores): slow suite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import hynas
from hynas.core.errors import HynasError

pytestmark = pytest.mark.slow

SETTINGS = {"space": "nb201", "objectives": ["score:max", "params"], "strategy": "nsga2", "seed": 7}

#: the user's script: ask, "train" (a toy metric of the architecture), tell; HANG_AT hangs after
#: asking that trial (to be killed there; -2: waits for a line on stdin once the study is open),
#: STEP_S sleeps as training would
SCRIPT = textwrap.dedent(
    """
    import sys, time
    import hynas

    store, total, hang_at, step_s, lease_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    settings = {settings!r}
    with hynas.create_study(store=store, budget=total, lease_s=lease_s, **settings) as study:
        print("open", len(study), *study.pending, flush=True)
        if hang_at == -2:
            sys.stdin.readline()  # hold the study until told to go on
        while len(study) < total:
            trial = study.ask()
            print("asked", trial.number, trial.arch_string, flush=True)
            if trial.number == hang_at:
                time.sleep(600)
            time.sleep(step_s)
            score = float(sum((i + 1) * g for i, g in enumerate(trial.arch.genes)))
            study.tell(trial, {{"score": score}})
            print("told", trial.number, flush=True)
    """
).format(settings=SETTINGS)


def start(
    tmp_path: Path, store: str, total: int, hang_at: int = -1, step_s: float = 0.0, lease_s: float = 30.0
):
    script = tmp_path / "loop.py"
    script.write_text(SCRIPT)
    args = [sys.executable, str(script), store, str(total), str(hang_at), str(step_s), str(lease_s)]
    return subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def read_until(proc: subprocess.Popen, prefix: str) -> list[str]:
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.strip())
        if line.startswith(prefix):
            return lines
    raise AssertionError(
        f"the script ended before {prefix!r}: {lines} {proc.stderr.read() if proc.stderr else ''}"
    )


def uninterrupted(total: int) -> list[str]:
    with hynas.create_study(budget=total, **SETTINGS) as study:
        while len(study) < total:
            t = study.ask()
            study.tell(t, {"score": float(sum((i + 1) * g for i, g in enumerate(t.arch.genes)))})
        return [t.arch for t in study]


def test_a_killed_script_run_again_continues_where_it_stopped(tmp_path):
    store = str(tmp_path / "killed.db")
    total = 10
    first = start(tmp_path, store, total, hang_at=4)
    lines = read_until(first, "asked 4")
    hung_arch = lines[-1].split()[2]
    first.send_signal(signal.SIGKILL)  # while trial 4 "trains": asked, stored as running, not told
    first.wait(timeout=30)
    before = hynas.load(store)
    assert [t.number for t in before] == [0, 1, 2, 3] and [t.status for t in before] == ["completed"] * 4

    second = start(tmp_path, store, total, step_s=0.05)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    out_lines = out.split("\n")
    assert out_lines[0] == "open 4 4"  # four told trials kept, trial 4 pending
    assert out_lines[1] == f"asked 4 {hung_arch}"  # handed out again: same number, same architecture
    assert [int(x.split()[1]) for x in out_lines if x.startswith("told")] == list(range(4, total))

    after = hynas.load(store)
    assert after.trials[:4] == before.trials  # what was told before the kill is kept unchanged
    assert [t.number for t in after] == list(range(total)) and all(t.ok for t in after)
    assert [t.arch for t in after] == uninterrupted(total)  # nothing lost, nothing repeated


def test_a_kill_at_any_moment_loses_no_told_trial(tmp_path):
    store = str(tmp_path / "anytime.db")
    total = 12
    proc = start(tmp_path, store, total, step_s=0.02)
    told = [int(x.split()[1]) for x in read_until(proc, "told 5") if x.startswith("told")]
    time.sleep(0.03)  # somewhere in the next ask, "training" or tell
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    kept = {t.number for t in hynas.load(store)}
    assert set(told) <= kept  # every trial the script saw told is stored
    again = start(tmp_path, store, total)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    after = hynas.load(store)
    assert [t.number for t in after] == list(range(total))
    assert [t.arch for t in after] == uninterrupted(total)


def test_a_second_process_is_refused_while_the_first_holds_the_study_then_continues_it(tmp_path):
    store = str(tmp_path / "two.db")
    with hynas.create_study(store=store, **SETTINGS) as study:
        study.tell(study.ask(), {"score": 1.0})
    holder = start(tmp_path, store, total=2, hang_at=-2, lease_s=1.0)  # holds the study, heartbeating
    try:
        assert read_until(holder, "open") == ["open 1"]
        time.sleep(2.5)  # longer than its lease: only its heartbeat keeps it
        with pytest.raises(HynasError, match=rf"in use by another search \(pid {holder.pid} "):
            hynas.create_study(store=store, lease_s=1.0)
        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        out, err = holder.communicate(timeout=60)
        assert holder.returncode == 0, err
    finally:
        if holder.poll() is None:
            os.kill(holder.pid, signal.SIGKILL)
    assert [x.split()[0] for x in out.split("\n") if x] == ["asked", "told"]
    with hynas.create_study(store=store) as study:  # the first closed: the lease is free at once
        assert len(study) == 2 and study.ask().number == 2
    assert [t.arch for t in hynas.load(store)] == uninterrupted(2)
