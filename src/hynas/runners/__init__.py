"""Runners: where evaluations happen (strategies never evaluate).

``run(experiment, store, options=RunOptions(...))`` drives a search on one of the backends:
sequential (in-process, the default), a local process pool (``workers > 1``), Ray, or a runner a
plug-in registered in :data:`RUNNERS` (name -> backend factory, see ``docs/extending.md``). The modules
only point down: ``run`` (here) → the backends (``sequential``, ``pool``, ``ray_runner``) →
``evaluate`` (one candidate) and ``base`` (the driver loop and the backend interface).
"""

from __future__ import annotations

from collections.abc import Callable

from hynas.core.errors import HynasError
from hynas.core.store import Store, TrialRecord
from hynas.differentiable import DifferentiableMethod
from hynas.runners.base import RUNNERS, Backend, RunOptions, drive
from hynas.runners.sequential import SequentialBackend
from hynas.wiring import Experiment

__all__ = ["RUNNERS", "RunOptions", "run"]


@RUNNERS.register(
    "sequential", "in this process, one trial at a time (the default; bit-for-bit reproducible)"
)
def _sequential(experiment: Experiment, opts: RunOptions) -> Backend:
    return SequentialBackend(experiment, opts.timeout_s)


@RUNNERS.register("pool", "a pool of local worker processes (--workers N)")
def _pool(experiment: Experiment, opts: RunOptions) -> Backend:
    from hynas.runners.pool import PoolBackend

    return PoolBackend(experiment, opts.workers, opts.timeout_s)


@RUNNERS.register("ray", "Ray tasks on a local or remote cluster (--ray-address; needs hynas[ray])")
def _ray(experiment: Experiment, opts: RunOptions) -> Backend:
    from hynas.runners.ray_runner import RayBackend

    return RayBackend(experiment, opts.workers, opts.timeout_s, opts.ray_address, opts.max_requeues)


def run(
    experiment: Experiment,
    store: Store,
    on_trial: Callable[[TrialRecord, list[TrialRecord]], None] | None = None,
    trial_delay: float = 0.0,
    options: RunOptions | None = None,
) -> list[TrialRecord]:
    """Run (or resume) ``experiment`` until its budget is spent; returns every finished trial.

    ``options`` picks the runner (sequential by default, a process pool for ``workers > 1``, Ray, or
    one a plug-in registered in :data:`RUNNERS`), the per-trial timeout and the retries.
    """
    opts = options or RunOptions()
    if isinstance(experiment.strategy, DifferentiableMethod):  # one supernet training run, not ask/tell
        if opts.runner != "sequential":
            raise HynasError(
                f"{experiment.strategy.name} trains one supernet in this process; drop --runner/--workers"
            )
        from hynas.differentiable.search import run_differentiable

        return run_differentiable(experiment, store, on_trial)
    if trial_delay:
        from dataclasses import replace

        opts = replace(opts, trial_delay=trial_delay)
    backend = RUNNERS.factory(opts.runner)(experiment, opts)
    return drive(experiment, store, backend, opts, on_trial)
