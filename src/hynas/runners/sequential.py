"""The sequential runner: ask one, evaluate in this process, commit, tell — and resume by replay.

(:func:`hynas.runners.run` picks this backend by default; :func:`~hynas.runners.base.drive` is the loop.)

Every finished trial is committed to the store before the next ``ask``. On start the runner
replays the stored trials through the freshly seeded strategy (``ask`` must return the stored
architecture, then ``tell`` gets the stored result), so a resumed run continues exactly where the
killed one stopped: no completed trial is lost or repeated, and a seeded run ends in the same
state as an uninterrupted one. A trial that was running when the driver died is asked again and
re-evaluated under its own number. A failed evaluation (exception, NaN, or the per-trial timeout,
enforced with ``SIGALRM`` in :mod:`~hynas.runners.evaluate`) is stored as ``failed`` with its reason and the search goes on.
"""

from __future__ import annotations

from hynas.core.strategy import Candidate
from hynas.runners.base import Backend, Outcome, budget_left, record_to_result, sync_store
from hynas.runners.evaluate import TrialTimeout, evaluate_candidate
from hynas.wiring import Experiment

__all__ = [
    "SequentialBackend",
    "TrialTimeout",
    "budget_left",
    "evaluate_candidate",
    "record_to_result",
    "sync_store",
]


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
