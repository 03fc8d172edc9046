"""Local process pool: ``--workers N`` evaluates N trials at once in worker processes.

Each worker is a forked process that inherits the experiment (so evaluators and test doubles need
not be importable by name) and evaluates one trial at a time. The driver watches every worker's
pipe and process sentinel: a worker that dies mid-trial (killed, out of memory, segfault) is
reported as *lost* and the driver re-queues its trial on a fresh worker; a trial that runs past the
per-trial timeout has its worker killed and is recorded as failed with the reason. Unlike
``concurrent.futures.ProcessPoolExecutor``, one dead worker never breaks the whole pool.

Workers die with their driver: on Linux each asks the kernel for ``SIGKILL`` when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), and everywhere a watcher thread exits the worker once its parent is
gone, so a killed driver never leaves workers behind (still evaluating, or holding the output
pipes of whoever started the driver). Workers ignore ``SIGINT`` (a Ctrl-C reaches the whole process
group; the driver stops them); ``SIGTERM`` to the driver interrupts it like Ctrl-C
(:func:`hynas.runners.base.drive`), so it stops its workers and releases the store's lease before it
exits. Trials in flight stay recorded as running and are re-queued when the search is resumed.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection, wait
from typing import Any

from hynas.core.store import TrialRecord
from hynas.core.strategy import Candidate
from hynas.runners.base import Backend, Outcome
from hynas.runners.evaluate import evaluate_candidate, failed_trial
from hynas.wiring import Experiment

__all__ = ["PoolBackend"]

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_WATCH_S = 0.25  # how often a worker checks that its driver is alive (where prctl is missing)
_USE_PRCTL = sys.platform.startswith("linux")  # tests turn it off to check the portable watcher


def _die_with(parent: int) -> None:
    """End this worker as soon as ``parent`` (its driver) is gone, even mid-evaluation."""
    if _USE_PRCTL:
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the driver died before the request above
        os._exit(1)

    def watch() -> None:  # everywhere (and should the kernel request be refused): poll the parent
        while os.getppid() == parent:
            time.sleep(_WATCH_S)
        os._exit(1)

    threading.Thread(target=watch, name="hynas-driver-watch", daemon=True).start()


def _worker_main(conn: Connection, experiment: Experiment, parent: int) -> None:
    _die_with(parent)
    # Ctrl-C in a terminal reaches the whole process group: the driver stops its workers itself;
    # SIGTERM kills a worker at once (not the driver's handler, inherited through fork)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ["HYNAS_WORKER"] = str(os.getpid())
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        number, arch, fidelity = job
        cand = Candidate(experiment.space.parse(arch), fidelity)
        rec = evaluate_candidate(experiment, number, cand)
        conn.send(rec.__dict__)


class _Worker:
    def __init__(self, ctx: Any, experiment: Experiment) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, experiment, os.getpid()), daemon=True)
        self.proc.start()
        child.close()
        self.job: tuple[int, Candidate] | None = None
        self.started = 0.0

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()


class PoolBackend(Backend):
    """Evaluate in ``workers`` forked processes; see the module docstring."""

    blocking = False

    def __init__(self, experiment: Experiment, workers: int, timeout_s: float | None = None) -> None:
        self.experiment = experiment
        self.slots = workers
        self.timeout_s = timeout_s
        self.ctx = mp.get_context("fork")
        self.workers: list[_Worker] = []

    def pids(self) -> list[int]:
        """Process ids of the live workers (for fault injection)."""
        return [w.proc.pid for w in self.workers if w.proc.pid is not None and w.proc.is_alive()]

    def submit(self, number: int, candidate: Candidate) -> None:
        worker = next((w for w in self.workers if w.job is None), None)
        if worker is None:
            worker = _Worker(self.ctx, self.experiment)
            self.workers.append(worker)
        worker.job = (number, candidate)
        worker.started = time.monotonic()
        # a worker that died before the job reached it is reported by its sentinel in wait()
        with contextlib.suppress(OSError):
            worker.conn.send((number, str(candidate.arch), candidate.fidelity))

    def wait(self, timeout: float) -> list[Outcome]:
        busy = [w for w in self.workers if w.job is not None]
        if not busy:
            return []
        if self.timeout_s is not None:
            first_deadline = min(w.started + self.timeout_s for w in busy) - time.monotonic()
            timeout = max(0.0, min(timeout, first_deadline))
        handles: list[Any] = [w.conn for w in busy] + [w.proc.sentinel for w in busy]
        ready = set(wait(handles, timeout=timeout))
        out: list[Outcome] = []
        for w in busy:
            assert w.job is not None
            number, cand = w.job
            if w.conn in ready or w.proc.sentinel in ready:
                try:
                    if w.conn.poll():
                        data = w.conn.recv()
                        out.append(Outcome(number, TrialRecord(**data)))
                        w.job = None
                        continue
                except (EOFError, OSError):
                    pass
                w.proc.join(timeout=5)
                out.append(
                    Outcome(number, None, f"worker process {w.proc.pid} died (exit code {w.proc.exitcode})")
                )
                self._drop(w)
            elif self.timeout_s is not None and time.monotonic() - w.started >= self.timeout_s:
                reason = f"TrialTimeout: trial exceeded the {self.timeout_s:g} s timeout (worker killed)"
                rec = failed_trial(number, cand, reason, started_at=time.time() - self.timeout_s)
                out.append(Outcome(number, rec))
                self._drop(w)
        return out

    def _drop(self, w: _Worker) -> None:
        w.kill()
        self.workers.remove(w)

    def close(self) -> None:
        """Stop every worker: idle ones are asked to exit, busy ones (the driver is stopping with
        trials in flight; they stay recorded as running and are re-queued on resume) are killed."""
        for w in self.workers:
            if w.job is not None:
                with contextlib.suppress(Exception):
                    w.proc.kill()
            else:
                with contextlib.suppress(Exception):
                    w.conn.send(None)
        deadline = time.monotonic() + 5
        for w in self.workers:
            w.proc.join(timeout=max(0.0, deadline - time.monotonic()))
            if w.proc.is_alive():
                w.kill()
            with contextlib.suppress(Exception):
                w.conn.close()
        self.workers.clear()
