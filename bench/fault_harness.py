"""The real-process harness of bench/faults.py: run ``hynas`` commands in their own process group,
read a store's trials from a copy, and classify what a case did (a traceback, a wrong exit, trials
lost or duplicated, a store left unusable) into a :class:`Tally`. Measures, never asserts.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

from hynas.stores import open_store

# -- real processes: classification ---------------------------------------------------------------
TRACEBACK = "Traceback (most recent call last)"
#: what a case's process must do: run (0), refuse bad input with one line (2), or either
EXPECT = ("ok", "bad", "ok_or_refused")


def has_traceback(stderr: str) -> bool:
    return TRACEBACK in stderr


def wrong_exit(expect: str, rc: int | None) -> bool:
    """``rc`` None: the process hung (killed after its time limit), always wrong."""
    if expect not in EXPECT:
        raise ValueError(f"unknown expectation {expect!r}")
    if rc is None:
        return True
    if expect == "ok":
        return rc != 0
    if expect == "bad":
        return rc != 2
    return rc not in (0, 2)


def error_lines(stderr: str) -> int:
    """Non-blank stderr lines (the console is made wide enough not to wrap)."""
    return sum(1 for line in stderr.splitlines() if line.strip())


#: a stored trial as compared before and after a fault
Row = tuple[int, str, Any, str, str, float]


def trial_changes(before: list[Row], after: list[Row] | None) -> tuple[int, int]:
    """(lost, duplicated): committed trials of ``before`` missing from or different in ``after``
    (all of them when ``after`` cannot be read), and extra copies in ``after`` of a trial number or
    of an architecture at a fidelity."""
    if after is None:
        return len(before), 0
    now = set(after)
    lost = sum(1 for row in before if row not in now)
    numbers = [r[0] for r in after]
    evaluated = [(r[1], r[2]) for r in after]
    return lost, (len(numbers) - len(set(numbers))) + (len(evaluated) - len(set(evaluated)))


def complete(after: list[Row] | None, budget: int) -> bool:
    return after is not None and len({r[0] for r in after}) >= budget


def read_trials(path: str) -> list[Row] | None:
    """The finished trials of a SQLite store, read through ``open_store`` from a copy (so reading
    never changes the store under test); None when there is no store or it cannot be read."""
    if not os.path.exists(path):
        return None
    tmp = tempfile.mkdtemp(prefix="hynas-snap-")
    try:
        copy = os.path.join(tmp, "s.db")
        for suffix in ("", "-wal", "-journal"):
            if os.path.exists(path + suffix):
                shutil.copyfile(path + suffix, copy + suffix)
        try:
            with open_store(copy, create=False) as st:
                recs = st.trials()
        except Exception:
            return None
        return [
            (r.number, r.arch, r.fidelity, r.status, json.dumps(r.metrics, sort_keys=True), r.cost_s)
            for r in recs
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Tally:
    """One part's columns; ``examples`` keeps a few cases of each problem for the report."""

    cases: int = 0
    tracebacks: int = 0
    wrong_exits: int = 0
    lost: int = 0
    duplicated: int = 0
    unusable: int = 0
    extra: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def note(self, what: str, label: str, stderr: str = "") -> None:
        if sum(e.startswith(what + ":") for e in self.examples) < 3:
            # the words of the last two lines (a usage box's borders carry none)
            lines = [" ".join(x.strip("│╭╮╰╯─ ").split()) for x in stderr.splitlines()]
            lines = [x for x in lines if any(c.isalnum() for c in x)]
            tail = " | ".join(lines[-2:])[:300]
            self.examples.append(f"{what}: {label}" + (f" -> {tail}" if tail else ""))

    def count(self, key: str, n: int = 1) -> None:
        self.extra[key] = self.extra.get(key, 0) + n

    def process(self, label: str, expect: str, res: Proc) -> None:
        """Classify one process of a case: traceback, wrong exit, error not on one line."""
        if has_traceback(res.stderr):
            self.tracebacks += 1
            self.note("traceback", label, res.stderr)
        if wrong_exit(expect, res.rc):
            self.wrong_exits += 1
            self.note("wrong exit", f"{label} (rc {'hung' if res.rc is None else res.rc})", res.stderr)
        if res.rc == 2 and error_lines(res.stderr) != 1:
            self.count("error not one line")
            self.note("error not one line", label, res.stderr)

    def trials(self, label: str, before: list[Row], after: list[Row] | None, budget: int) -> None:
        lost, dup = trial_changes(before, after)
        self.lost += lost
        self.duplicated += dup
        if lost:
            self.note("lost", f"{label}: {lost}")
        if dup:
            self.note("duplicated", f"{label}: {dup}")
        if not complete(after, budget):
            self.unusable += 1
            self.note("unusable", label)

    def row(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- real processes: running them -----------------------------------------------------------------
_ENV = {**os.environ, "COLUMNS": "1000", "OMP_NUM_THREADS": "1"}
_HYNAS = [sys.executable, "-c", "from hynas.cli import main; main()"]


@dataclass
class Proc:
    rc: int | None  # None: hung
    stdout: str
    stderr: str


def _start(args: list[str], cwd: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*_HYNAS, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=_ENV,
        start_new_session=True,  # its own process group: everything it leaves is killed after
    )


def _kill_group(p: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(p.pid, signal.SIGKILL)


def _finish(p: subprocess.Popen, timeout: float) -> Proc:
    try:
        out, err = p.communicate(timeout=timeout)
        rc: int | None = p.returncode
    except subprocess.TimeoutExpired:
        _kill_group(p)
        out, err = p.communicate()
        rc = None
    _kill_group(p)
    return Proc(rc, out, err)


def hynas(args: list[str], cwd: str, timeout: float = 120) -> Proc:
    return _finish(_start(args, cwd), timeout)


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            f = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return f[0], int(f[1]), int(f[19])


def children(pid: int) -> dict[int, int]:
    """{pid: start time} of the live children of ``pid``."""
    out = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            st = proc_stat(int(e))
            if st is not None and st[1] == pid and st[0] != "Z":
                out[int(e)] = st[2]
    return out


def alive(procs: dict[int, int]) -> list[int]:
    """Those of ``procs`` still running (a zombie or a new process under a reused pid is gone)."""
    return [
        p
        for p, start in procs.items()
        if (st := proc_stat(p)) is not None and st[0] != "Z" and st[2] == start
    ]


def _search_args(store: str, budget: int, seed: int = 0, workers: int = 1, delay: float = 0.0) -> list[str]:
    args = ["search", "-s", "rea", "--objective", "accuracy", "--budget", str(budget), "--seed", str(seed)]
    args += ["--store", store, "-q"]
    if workers > 1:
        args += ["--workers", str(workers)]
    if delay:
        args += ["--trial-delay", str(delay)]
    return args


def _after_kill(
    t: Tally, label: str, stderr: str, args: list[str], cwd: str, store: str, budget: int
) -> None:
    """A killed run printed no traceback, and running it again on its store finishes the run with
    nothing lost or duplicated."""
    if has_traceback(stderr):
        t.tracebacks += 1
        t.note("traceback", label + " (killed run)", stderr)
    before = read_trials(store) or []
    res = hynas(args, cwd)
    t.process(label + " rerun", "ok", res)
    t.trials(label, before, read_trials(store), budget)
