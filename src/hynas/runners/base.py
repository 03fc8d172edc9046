"""The one driver loop behind every runner, and the backend interface the runners implement.

The driver (this process) owns the strategy and the store; a *backend* evaluates candidates
somewhere (in-process, in worker processes, on a Ray cluster). The loop uses only the store
contract (:class:`hynas.core.store.Store`), so it runs on any backend that keeps it (SQLite,
PostgreSQL, the in-memory store):

1. take the store's driver lease (a dead driver's lease is taken over: no heartbeat for ``lease_s``
   seconds, or at once when its pid is gone on the same host and PID namespace);
2. replay the store through the freshly seeded strategy in the recorded ask/tell order; trials
   left ``running`` by a dead driver are asked again (the strategy returns the same architecture)
   and re-queued under their own numbers;
3. while a worker slot is free and budget is left, ``ask(1)``, record the trial as ``running``
   (with how many results the strategy had been told), and submit it;
4. on each outcome: a lost worker re-queues the trial (up to ``max_requeues`` times); a failed
   evaluation (exception, NaN, timeout) is retried up to ``retries`` times; then the final record is
   committed and only then told to the strategy.

With one slot (the sequential runner) this is exactly ask → evaluate → commit → tell, so a seeded
sequential run is bit-for-bit reproducible. With several slots the strategy is asked while others
are pending; each strategy excludes pending architectures from its proposals (see docs/scale.md).
"""

from __future__ import annotations

import abc
import contextlib
import math
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from hynas.core.errors import HynasError
from hynas.core.registry import Registry
from hynas.core.store import Store, TrialRecord, check_dense
from hynas.core.strategy import Candidate, Result
from hynas.runners.evaluate import failed_trial
from hynas.wiring import Experiment

__all__ = [
    "RUNNERS",
    "Backend",
    "Outcome",
    "RunOptions",
    "Terminated",
    "budget_left",
    "check_runnable",
    "drive",
    "record_to_result",
    "replay",
    "sync_store",
    "take_over",
]

#: runner name -> backend factory ``(experiment, options) -> Backend`` (registered in ``hynas.runners``)
RUNNERS: Registry[Backend] = Registry("runner")


@dataclass(frozen=True)
class RunOptions:
    """How and where trials run. ``workers > 1`` with the default runner means a process pool."""

    runner: str = "sequential"
    workers: int = 1
    timeout_s: float | None = None  # per trial; None: no limit
    retries: int = 0  # extra attempts after a failed evaluation
    max_requeues: int = 3  # times a trial whose worker died is re-queued before it is failed
    ray_address: str | None = None
    lease_s: float = 30.0
    trial_delay: float = 0.0  # sleep before each commit (demos and kill tests)

    def __post_init__(self) -> None:
        if self.runner not in RUNNERS:
            raise HynasError(f"unknown runner {self.runner!r}; valid: {', '.join(RUNNERS)}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise HynasError(f"bad workers {self.workers!r}: it must be a whole number >= 1")
        if self.runner == "sequential" and self.workers > 1:
            object.__setattr__(self, "runner", "pool")
        if self.timeout_s is not None and not (
            isinstance(self.timeout_s, int | float) and math.isfinite(self.timeout_s) and self.timeout_s > 0
        ):
            raise HynasError(f"bad trial timeout {self.timeout_s!r}: it must be a positive number of seconds")
        for name in ("retries", "max_requeues"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise HynasError(f"bad {name} {v!r}: it must be a whole number >= 0")
        if not (isinstance(self.lease_s, int | float) and self.lease_s > 0):
            raise HynasError(f"bad lease_s {self.lease_s!r}: it must be a positive number of seconds")
        if self.ray_address is not None and self.runner != "ray":
            raise HynasError("--ray-address needs --runner ray")


@dataclass(frozen=True)
class Outcome:
    """What a backend reports for a submitted trial: a record, or ``lost`` when the worker died."""

    number: int
    record: TrialRecord | None
    lost: str = ""


class Backend(abc.ABC):
    """Where evaluations run. ``slots`` trials may be in flight at once."""

    slots: int = 1
    #: True when ``wait`` blocks for a whole evaluation (the driver then heartbeats from a thread)
    blocking: bool = False

    @abc.abstractmethod
    def submit(self, number: int, candidate: Candidate) -> None: ...

    @abc.abstractmethod
    def wait(self, timeout: float) -> list[Outcome]:
        """Outcomes that arrived within ``timeout`` seconds (possibly none)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


# -- configuration and replay -----------------------------------------------------------------------
def check_runnable(experiment: Experiment) -> None:
    """Refuse, before any store is opened, an experiment whose evaluator cannot evaluate
    (``evaluates = False``: the ``told`` evaluator of an ask/tell study, whose metrics come from
    the user's own training loop), or a differentiable search whose space, budget or cost term
    does not fit (:func:`hynas.differentiable.search.prepare`)."""
    if not experiment.evaluator.evaluates:
        raise HynasError(
            f"evaluator {experiment.config.evaluator!r} cannot evaluate: its metrics are told by your "
            "own training loop; continue this study from Python with hynas.create_study(store=...)"
        )
    from hynas.differentiable import DifferentiableMethod

    if isinstance(experiment.strategy, DifferentiableMethod):  # its space, budget and cost term
        from hynas.differentiable.search import prepare

        prepare(experiment)


def record_to_result(experiment: Experiment, rec: TrialRecord) -> Result:
    cand = Candidate(experiment.space.parse(rec.arch), rec.fidelity)
    if not rec.ok:
        return Result(cand, ok=False, violation=math.inf, cost_s=rec.cost_s)
    return experiment.result(cand, rec.metrics, rec.cost_s)


def _extends(new: float | None, old: float | None) -> bool:
    """True when limit ``new`` allows more than ``old`` (``None``: no limit)."""
    return old is not None and (new is None or new > old)


def _write_config(experiment: Experiment, store: Store) -> None:
    """Store the configuration of a new run, or the larger budget of a continued one (a smaller
    budget only stops this run early; the stored one is kept)."""
    config, stored = experiment.config, store.config()
    if (
        stored is None
        or _extends(config.budget, stored.get("budget"))
        or _extends(config.budget_seconds, stored.get("budget_seconds"))
    ):
        store.set_config(config.to_dict())


def replay(
    experiment: Experiment, store: Store, write_config: bool = True
) -> tuple[list[TrialRecord], list[tuple[int, Candidate]]]:
    """Check or write the configuration, replay the store into the strategy in its recorded
    ask/tell order, and return (finished trials in told order, running trials to re-queue)."""
    experiment.config.check_store(store)
    trials, schedule = store.state()  # one consistent snapshot, every row checked
    check_dense(store.path, "trial", [s.number for s in schedule])  # a search numbers 0, 1, ...
    finished = {r.number: r for r in trials}
    told_order = sorted((s for s in schedule if s.told_seq is not None), key=lambda s: s.told_seq or 0)
    tells = [finished[s.number] for s in told_order]
    asks = [(s.number, s.arch, s.fidelity, s.asked_after) for s in schedule]
    strategy = experiment.strategy
    told = 0
    pending: list[tuple[int, Candidate]] = []
    for number, arch, fidelity, asked_after in asks:
        while told < min(asked_after, len(tells)):
            strategy.tell([record_to_result(experiment, tells[told])])
            told += 1
        cand = strategy.ask(1)[0]
        if str(cand.arch) != arch or cand.fidelity != fidelity:
            raise HynasError(
                f"cannot resume from {store.path!r}: at trial {number} the strategy proposes {cand.arch} "
                f"but the store holds {arch} (its rows are intact); the store was written by a different "
                "hynas version"
            )
        if number not in finished:
            pending.append((number, cand))
    for rec in tells[told:]:
        strategy.tell([record_to_result(experiment, rec)])
    if write_config:  # only once the whole store replayed: one that cannot be resumed is left as it was
        _write_config(experiment, store)
    return tells, pending


def sync_store(experiment: Experiment, store: Store) -> list[TrialRecord]:
    """Replay the store into the strategy; returns the finished trials (kept for compatibility)."""
    return replay(experiment, store)[0]


def budget_left(experiment: Experiment, records: list[TrialRecord], pending: int = 0) -> bool:
    cfg = experiment.config
    if cfg.budget is not None and len(records) + pending >= cfg.budget:
        return False
    return not (cfg.budget_seconds is not None and sum(r.cost_s for r in records) >= cfg.budget_seconds)


# -- the driver loop ----------------------------------------------------------------------------------
@dataclass
class _InFlight:
    candidate: Candidate
    attempts: int = 1
    lost: int = 0
    errors: list[str] = field(default_factory=list)


class Terminated(KeyboardInterrupt):
    """The driver got ``SIGTERM``; it stops like a Ctrl-C (workers stopped, lease released,
    finished trials kept)."""


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While the driver loop runs, ``SIGTERM`` raises :class:`Terminated` so the loop's cleanup runs
    (only from the main thread, and only over the default action); a second one kills at once."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGTERM) != signal.SIG_DFL
    ):
        yield
        return

    def terminated(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Terminated("SIGTERM")

    signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


class _Heartbeat(threading.Thread):
    """Refreshes the driver lease from its own store connection while the main thread evaluates."""

    def __init__(self, store: Store, token: str, every_s: float) -> None:
        super().__init__(daemon=True, name="hynas-heartbeat")
        self.store, self.token, self.every_s = store, token, every_s
        self.done = threading.Event()

    def run(self) -> None:
        try:
            st = self.store.clone()  # its own connection, made in this thread
        except HynasError:
            return
        try:
            while not self.done.wait(self.every_s):
                # the main thread reports store errors; a missed beat only shortens the lease
                with contextlib.suppress(HynasError):
                    st.heartbeat(self.token)
        finally:
            st.close()


def take_over(
    experiment: Experiment, store: Store, token: str, lease_s: float
) -> tuple[list[TrialRecord], list[tuple[int, Candidate]], list[int]]:
    """Become the driver of ``store`` under ``token``: replay it into the strategy, take the lease
    and store the configuration. Returns (finished trials in told order, running trials to re-queue,
    every trial number). A store that cannot be resumed is refused without a single write; the
    caller releases the lease (``store.release(token)``) once the lease was taken."""
    # replay reads only: a store that cannot be resumed (corrupt, another configuration, written
    # by another version) is refused without a single write
    records, requeue = replay(experiment, store, write_config=False)
    seen = len(records) + len(requeue)
    store.acquire(token, lease_s)
    try:
        numbers = [s.number for s in store.schedule()]
        if len(numbers) != seen:
            raise HynasError(
                f"store {store.path!r} was changed by another search while this one started; "
                "run the same command again"
            )
        _write_config(experiment, store)
    except BaseException:
        with contextlib.suppress(HynasError):
            store.release(token)
        raise
    return records, requeue, numbers


def drive(
    experiment: Experiment,
    store: Store,
    backend: Backend,
    options: RunOptions,
    on_trial: Callable[[TrialRecord, list[TrialRecord]], None] | None = None,
) -> list[TrialRecord]:
    """Run (or resume) ``experiment`` on ``backend`` until the budget is spent; returns every
    finished trial in the order results were told. ``SIGTERM`` stops it like a Ctrl-C."""
    with _sigterm_interrupts():
        return _drive(experiment, store, backend, options, on_trial)


def _drive(
    experiment: Experiment,
    store: Store,
    backend: Backend,
    options: RunOptions,
    on_trial: Callable[[TrialRecord, list[TrialRecord]], None] | None,
) -> list[TrialRecord]:
    token = uuid.uuid4().hex
    beat: _Heartbeat | None = None
    acquired = False
    try:
        check_runnable(experiment)
        records, requeue, numbers = take_over(experiment, store, token, options.lease_s)
        acquired = True
        # the heartbeat decides whether a driver is alive (a pid can be reused or live in another
        # PID namespace), so a driver busy in a long in-process trial beats from a thread with its
        # own handle on the store
        if backend.blocking:
            beat = _Heartbeat(store, token, options.lease_s / 3)
            beat.start()
        strategy = experiment.strategy
        next_number = max(numbers, default=-1) + 1
        queue: deque[int] = deque(n for n, _ in requeue)
        flights: dict[int, _InFlight] = {n: _InFlight(c) for n, c in requeue}
        running: set[int] = set()
        last_beat = time.monotonic()
        while True:
            while len(running) < backend.slots:
                if queue:
                    number = queue.popleft()
                elif budget_left(experiment, records, pending=len(flights)):
                    cand = strategy.ask(1)[0]
                    number = next_number
                    next_number += 1
                    store.start(number, str(cand.arch), cand.fidelity, asked_after=len(records))
                    flights[number] = _InFlight(cand)
                else:
                    break
                backend.submit(number, flights[number].candidate)
                running.add(number)
            if not running:
                break
            outcomes = backend.wait(timeout=min(1.0, options.lease_s / 3))
            if not backend.blocking and time.monotonic() - last_beat > options.lease_s / 3:
                store.heartbeat(token)
                last_beat = time.monotonic()
            for out in outcomes:
                running.discard(out.number)
                fl = flights[out.number]
                rec = out.record
                if rec is None:
                    fl.lost += 1
                    fl.errors.append(f"worker lost: {out.lost}")
                    if fl.lost <= options.max_requeues:
                        queue.appendleft(out.number)  # re-queued, same number and candidate
                        continue
                    rec = failed_trial(out.number, fl.candidate, f"worker lost {fl.lost} times: {out.lost}")
                elif not rec.ok and fl.attempts <= options.retries:
                    fl.attempts += 1
                    fl.errors.append(f"attempt {fl.attempts - 1}: {rec.error}")
                    queue.appendleft(out.number)  # retried
                    continue
                if fl.errors:
                    history = " || ".join(fl.errors)
                    rec = replace(rec, error=(rec.error + " || " if rec.error else "retried: ") + history)
                if options.trial_delay:
                    time.sleep(options.trial_delay)
                store.finish(rec, attempts=fl.attempts)
                del flights[out.number]
                records.append(rec)
                strategy.tell([record_to_result(experiment, rec)])
                if on_trial is not None:
                    on_trial(rec, records)
        return records
    finally:
        if beat is not None:
            beat.done.set()
            beat.join(timeout=5)
        backend.close()
        if acquired:
            # a store that cannot be written keeps a stale lease; the next run takes it over
            with contextlib.suppress(HynasError):
                store.release(token)
