"""Runners: where evaluations happen (strategies never evaluate).

``run(experiment, store, options=RunOptions(...))`` drives a search on one of the backends:
sequential (in-process, the default), a local process pool (``workers > 1``) or Ray. The modules
only point down: ``run`` (here) → the backends (``sequential``, ``pool``, ``ray_runner``) →
``evaluate`` (one candidate) and ``base`` (the driver loop and the backend interface).
"""

from __future__ import annotations

from collections.abc import Callable

from hynas.core.store import Store, TrialRecord
from hynas.runners.base import RUNNERS, Backend, RunOptions, drive
from hynas.runners.sequential import SequentialBackend
from hynas.wiring import Experiment

__all__ = ["RUNNERS", "RunOptions", "run"]


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
