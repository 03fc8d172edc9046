"""The sequential runner: ask one, evaluate in this process, commit, tell — and resume by replay.

Every finished trial is committed to the store before the next ``ask``. On start the runner
replays the stored trials through the freshly seeded strategy (``ask`` must return the stored
architecture, then ``tell`` gets the stored result), so a resumed run continues exactly where the
killed one stopped: no completed trial is lost or repeated, and a seeded run ends in the same
state as an uninterrupted one. A trial that was running when the driver died is asked again and
re-evaluated under its own number. A failed evaluation (exception, NaN, or the per-trial timeout,
enforced here with ``SIGALRM``) is stored as ``failed`` with its reason and the search goes on.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType

from hynas.core.errors import HynasError
from hynas.core.store import Store, TrialRecord
from hynas.core.strategy import Candidate
from hynas.runners.base import (
    Backend,
    Outcome,
    RunOptions,
    budget_left,
    check_config,
    drive,
    record_to_result,
    sync_store,
)
from hynas.wiring import Experiment

__all__ = [
    "SequentialBackend",
    "TrialTimeout",
    "budget_left",
    "check_config",
    "evaluate_candidate",
    "record_to_result",
    "run",
    "sync_store",
]


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
        return TrialRecord(
            number=number,
            arch=str(cand.arch),
            status="failed",
            fidelity=cand.fidelity,
            error=reason,
            started_at=started,
            finished_at=time.time(),
        )


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


class SequentialBackend(Backend):
    """Evaluates in the driver process, one trial at a time."""

    slots = 1
    blocking = True

    def __init__(self, experiment: Experiment, timeout_s: float | None = None) -> None:
        self.experiment = experiment
        self.timeout_s = timeout_s
        self.jobs: list[tuple[int, Candidate]] = []

    def submit(self, number: int, candidate: Candidate) -> None:
        self.jobs.append((number, candidate))

    def wait(self, timeout: float) -> list[Outcome]:
        out = [Outcome(n, evaluate_candidate(self.experiment, n, c, self.timeout_s)) for n, c in self.jobs]
        self.jobs.clear()
        return out


def run(
    experiment: Experiment,
    store: Store,
    on_trial: Callable[[TrialRecord, list[TrialRecord]], None] | None = None,
    trial_delay: float = 0.0,
    options: RunOptions | None = None,
) -> list[TrialRecord]:
    """Run (or resume) ``experiment`` until its budget is spent; returns every finished trial.

    ``options`` picks the runner (sequential by default, a process pool for ``workers > 1``, or Ray),
    the per-trial timeout and the retries.
    """
    opts = options or RunOptions()
    if trial_delay:
        from dataclasses import replace

        opts = replace(opts, trial_delay=trial_delay)
    backend: Backend
    if opts.runner == "sequential":
        backend = SequentialBackend(experiment, opts.timeout_s)
    elif opts.runner == "pool":
        from hynas.runners.pool import PoolBackend

        backend = PoolBackend(experiment, opts.workers, opts.timeout_s)
    else:
        from hynas.runners.ray_runner import RayBackend

        backend = RayBackend(experiment, opts.workers, opts.timeout_s, opts.ray_address, opts.max_requeues)
    return drive(experiment, store, backend, opts, on_trial)
