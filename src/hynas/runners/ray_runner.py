"""Ray runner: ``--runner ray`` spreads trials over a Ray cluster (Moritz et al., "Ray: A
Distributed Framework for Emerging AI Applications", OSDI 2018).

Without ``--ray-address`` a local Ray is started on demand with ``workers`` CPUs and shut down at
the end; with ``--ray-address`` (``auto`` or ``ray://host:10001``) the driver joins an existing
cluster and each trial is a Ray task needing one CPU, so a cluster of many machines runs as many
trials at once as ``--workers`` allows. The experiment is shipped once to the object store. A Ray
worker killed mid-trial is retried by Ray itself (``max_retries``); when Ray gives up, the driver
re-queues the trial like the process pool does. A trial past the per-trial timeout is cancelled
(its worker is killed) and recorded as failed. Needs the ``ray`` extra (``pip install 'hynas[ray]'``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from hynas.core.errors import HynasError
from hynas.core.store import TrialRecord
from hynas.core.strategy import Candidate
from hynas.runners.base import Backend, Outcome
from hynas.runners.evaluate import evaluate_candidate, failed_trial
from hynas.wiring import Experiment

__all__ = ["RayBackend"]


def _evaluate(experiment: Experiment, number: int, arch: str, fidelity: float | None) -> dict[str, Any]:
    cand = Candidate(experiment.space.parse(arch), fidelity)
    return evaluate_candidate(experiment, number, cand).__dict__


class RayBackend(Backend):
    """Evaluate trials as Ray tasks; see the module docstring."""

    blocking = False

    def __init__(
        self,
        experiment: Experiment,
        workers: int,
        timeout_s: float | None = None,
        address: str | None = None,
        max_retries: int = 3,
    ) -> None:
        try:
            import ray
        except ImportError:
            raise HynasError("the Ray runner needs Ray: pip install 'hynas[ray]'") from None
        self.ray = ray
        self.slots = workers
        self.timeout_s = timeout_s
        self.started_ray = False
        if not ray.is_initialized():
            try:
                if address:
                    ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
                else:
                    ray.init(
                        num_cpus=workers,
                        include_dashboard=False,
                        log_to_driver=False,
                        logging_level=logging.ERROR,
                        object_store_memory=100 * 1024 * 1024,
                    )
            except Exception as exc:  # Ray raises many kinds; all mean "no cluster"
                where = address or "a local Ray"
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise HynasError(f"cannot start or join {where}: {first}") from None
            self.started_ray = True
        strategy = experiment.strategy
        try:
            experiment.strategy = None  # type: ignore[assignment]  # workers only evaluate
            self.exp_ref = ray.put(experiment)
        except Exception as exc:
            raise HynasError(f"cannot ship the experiment to Ray workers: {exc}") from None
        finally:
            experiment.strategy = strategy
        self.remote = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=False)(_evaluate)
        self.tasks: dict[Any, tuple[int, Candidate, float]] = {}
        self.lost = (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError)

    def submit(self, number: int, candidate: Candidate) -> None:
        ref = self.remote.remote(self.exp_ref, number, str(candidate.arch), candidate.fidelity)
        self.tasks[ref] = (number, candidate, time.monotonic())

    def wait(self, timeout: float) -> list[Outcome]:
        if not self.tasks:
            return []
        if self.timeout_s is not None:
            first = min(t for _, _, t in self.tasks.values()) + self.timeout_s - time.monotonic()
            timeout = max(0.0, min(timeout, first))
        ready, _ = self.ray.wait(list(self.tasks), num_returns=len(self.tasks), timeout=timeout)
        out: list[Outcome] = []
        for ref in ready:
            number, cand, _ = self.tasks.pop(ref)
            try:
                out.append(Outcome(number, TrialRecord(**self.ray.get(ref))))
            except self.lost as exc:
                out.append(Outcome(number, None, f"Ray worker died: {type(exc).__name__}"))
            except Exception as exc:
                out.append(Outcome(number, None, f"Ray task failed: {type(exc).__name__}: {exc}"[:300]))
        if self.timeout_s is not None:
            now = time.monotonic()
            for ref, (number, cand, t0) in list(self.tasks.items()):
                if now - t0 >= self.timeout_s:
                    with contextlib.suppress(Exception):
                        self.ray.cancel(ref, force=True)
                    del self.tasks[ref]
                    reason = (
                        f"TrialTimeout: trial exceeded the {self.timeout_s:g} s timeout (Ray task cancelled)"
                    )
                    rec = failed_trial(number, cand, reason, started_at=time.time() - self.timeout_s)
                    out.append(Outcome(number, rec))
        return out

    def close(self) -> None:
        for ref in list(self.tasks):
            with contextlib.suppress(Exception):
                self.ray.cancel(ref, force=True)
        self.tasks.clear()
        if self.started_ray:
            self.ray.shutdown()
