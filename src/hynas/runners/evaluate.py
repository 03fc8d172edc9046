"""Evaluating one candidate, wherever it runs (in the driver, a pool worker or a Ray task).

:func:`evaluate_candidate` turns any exception, NaN objective or per-trial timeout (``SIGALRM``,
in the main thread) into a ``failed`` :class:`~hynas.core.store.TrialRecord` with its reason, so
a failed trial never stops the search. Every backend calls it; it depends on no backend.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import traceback
from types import FrameType

from hynas.core.errors import HynasError
from hynas.core.store import TrialRecord
from hynas.core.strategy import Candidate
from hynas.wiring import Experiment

__all__ = ["TrialTimeout", "evaluate_candidate"]


class TrialTimeout(Exception):
    """An evaluation ran past the per-trial timeout."""


def evaluate_candidate(
    experiment: Experiment, number: int, cand: Candidate, timeout_s: float | None = None
) -> TrialRecord:
    """Evaluate one candidate; any exception, NaN objective or timeout becomes a failed record."""
    started = time.time()
    try:
        with _alarm(timeout_s):
            ev = experiment.evaluate(cand)
        experiment.result(cand, ev.metrics, ev.cost_s)  # raises on NaN objectives
        bad = [k for k, v in ev.metrics.items() if isinstance(v, float) and math.isnan(v)]
        if bad:
            raise HynasError(f"metric(s) {', '.join(sorted(bad))} are NaN for {cand.arch}")
        return TrialRecord(
            number=number,
            arch=str(cand.arch),
            status="completed",
            fidelity=cand.fidelity,
            metrics=dict(ev.metrics),
            hidden=dict(ev.hidden),
            cost_s=ev.cost_s,
            started_at=started,
            finished_at=time.time(),
        )
    except Exception as exc:  # a failed trial must never stop the search
        reason = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, HynasError | TrialTimeout):
            reason += " | " + traceback.format_exc(limit=3).replace("\n", " ")[-500:]
        return failed_trial(number, cand, reason, started_at=started)


class _alarm:
    """Raise :class:`TrialTimeout` in this (main) thread after ``timeout_s`` seconds."""

    def __init__(self, timeout_s: float | None) -> None:
        self.timeout_s = timeout_s
        self.old: object = None

    def __enter__(self) -> None:
        if self.timeout_s is None:
            return
        if threading.current_thread() is not threading.main_thread():
            raise HynasError("a per-trial timeout in-process needs the main thread; use --workers 1 or more")
        t = self.timeout_s

        def handler(signum: int, frame: FrameType | None) -> None:
            raise TrialTimeout(f"trial exceeded the {t:g} s timeout")

        self.old = signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, t)

    def __exit__(self, *exc: object) -> None:
        if self.timeout_s is None:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)  # type: ignore[arg-type]


def failed_trial(number: int, cand: Candidate, reason: str, started_at: float | None = None) -> TrialRecord:
    """The record of a trial that failed now for ``reason`` (started at ``started_at``, default now);
    every runner builds its failed trials here."""
    now = time.time()
    return TrialRecord(
        number=number,
        arch=str(cand.arch),
        status="failed",
        fidelity=cand.fidelity,
        error=reason,
        started_at=now if started_at is None else started_at,
        finished_at=now,
    )
