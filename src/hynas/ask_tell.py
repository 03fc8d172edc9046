"""Ask/tell from Python, persisted: hynas proposes architectures, your own loop trains them.

``study = hynas.create_study(space=..., objectives=..., strategy=..., store=...)``, then
``trial = study.ask()``, your training of ``trial.build()``, and ``study.tell(trial, {...})``.
The objectives name what your loop measures, with a direction (``"accuracy:max"``), and what hynas
computes itself (cost models such as ``params``, ``flops`` or ``latency@roofline:raspi4``: computed
for the asked architecture at tell time; ``trial.computed`` shows them before you train). The
configuration names the ``told`` evaluator (:mod:`hynas.evaluators.told`), which declares your
metrics, so ``hynas show``, ``hynas report`` and :func:`hynas.load` read an ask/tell store like any
other.

The study is driven as ``hynas search`` drives a search (:mod:`hynas.runners.base`):

- ``create_study`` replays the store into the freshly seeded strategy (:func:`~hynas.runners.base.take_over`)
  and takes the store's driver lease, refreshed by a heartbeat thread until :meth:`AskTellStudy.close`
  (or the end of the ``with`` block, or of the process); a second process on the same store is
  refused while this one lives, and takes over once it closed or died;
- ``ask`` records the trial as running (``store.start``) before it returns it;
- ``tell`` commits the finished trial (``store.finish``, the record the runner would write) before
  the strategy hears of it. ``tell(trial, state="failed")`` and ``state="pruned"`` record those.

So a killed script that runs again continues where it stopped: every told trial is kept and never
asked again, and the trials it had asked but not told are handed out again by ``ask`` first (same
number, same architecture). A seeded study asks the same sequence as an uninterrupted one.

(About 440 lines: the study, its trials and how a study is made or reopened belong together.)
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import math
import numbers
import os
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self, cast

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.experiment import ExperimentConfig
from hynas.core.store import Store, TrialRecord
from hynas.core.strategy import Candidate
from hynas.evaluators.told import told_metrics
from hynas.study import Study

if TYPE_CHECKING:
    from hynas.runners.base import _Heartbeat
    from hynas.wiring import Experiment

__all__ = ["AskTellStudy", "Trial", "create_study"]

#: what ``tell`` accepts as ``state``
STATES = ("completed", "failed", "pruned")
#: the stored error of a failed or pruned trial told without one
_REASONS = {"failed": "told by the training loop"}


class Trial:
    """One asked architecture. Train it your way, then ``study.tell(trial, {...})``.

    ``number`` is its trial number in the store, ``arch`` the :class:`~hynas.core.arch.Architecture`
    (``str(trial.arch)``, also ``trial.arch_string``, is the canonical string), ``params`` one value
    per decision of the space, ``state`` ``"running"`` until it is told."""

    def __init__(self, study: AskTellStudy, number: int, candidate: Candidate) -> None:
        self._study = study
        self.number = number
        self.candidate = candidate
        self.started_at = time.time()
        self.state = "running"
        self._computed: dict[str, float] | None = None

    @property
    def arch(self) -> Architecture:
        return self.candidate.arch

    @property
    def arch_string(self) -> str:
        return str(self.candidate.arch)

    @property
    def fidelity(self) -> float | None:
        return self.candidate.fidelity

    @property
    def params(self) -> dict[str, Any]:
        """The architecture as one value per decision of the space (as ``to_optuna`` names them)."""
        space = self._study.experiment.space
        return {dim.name: dim.choices[g] for dim, g in zip(space.dims, self.arch.genes, strict=True)}

    def build(self, **kwargs: Any) -> Any:
        """The architecture's ``torch.nn.Module``, built by its space (``kwargs`` go to the space's
        builder, e.g. ``num_classes``)."""
        return self._study.experiment.space.build(self.arch, **kwargs)

    @property
    def computed(self) -> dict[str, float]:
        """The metrics hynas computes for this architecture (the cost models among the objectives
        and constraints), computed once; ``tell`` stores them with yours."""
        if self._computed is None:
            models = self._study.experiment.cost_models
            self._computed = {name: float(model(self.arch)) for name, model in models.items()}
        return dict(self._computed)

    def __repr__(self) -> str:
        return f"<Trial {self.number} {self.state}: {self.arch_string}>"


class AskTellStudy(Study):
    """A study you drive: :meth:`ask`, train, :meth:`tell` (see the module docstring). It is also a
    :class:`~hynas.study.Study` of its told trials (``len``, ``front()``, ``best()``, tables), kept
    up to date as trials are told."""

    def __init__(
        self,
        experiment: Experiment,
        store: Store,
        owned: bool,
        told: list[TrialRecord],
        requeue: list[tuple[int, Candidate]],
        next_number: int,
        token: str,
        lease_s: float,
    ) -> None:
        from hynas.report.analysis import fix_reference
        from hynas.runners.base import _Heartbeat

        super().__init__(
            experiment, list(told), store.location or None, fix_reference(experiment, store, told)
        )
        self._store = store
        self._told = list(told)  # in told order: the budget and the reference point read it
        self._pending: dict[int, Trial] = {}
        self._queue: deque[Trial] = deque()
        for number, cand in requeue:
            trial = Trial(self, number, cand)
            self._pending[number] = trial
            self._queue.append(trial)
        self._next = next_number
        self._lock = threading.RLock()
        self._closed = False
        beat: _Heartbeat = _Heartbeat(store, token, lease_s / 3)
        beat.start()
        # the lease is released and the heartbeat stopped at close(), or when the study is
        # collected, or at the end of the process
        self._finalizer = weakref.finalize(self, _release, store, token, beat, owned)

    # -- ask -----------------------------------------------------------------------------------------
    def ask(self) -> Trial:
        """The next architecture to train: first any trial asked before but never told (after a
        restart), else the strategy's next proposal, recorded in the store as running."""
        from hynas.runners.base import budget_left

        with self._lock:
            self._check_open()
            if self._queue:
                trial = self._queue.popleft()
                trial.started_at = time.time()
                return trial
            if not budget_left(self.experiment, self._told, pending=len(self._pending)):
                c = self.config
                by_count = c.budget is not None and len(self._told) + len(self._pending) >= c.budget
                limit = f"{c.budget} trials" if by_count else f"{c.budget_seconds:g} s of training"
                key = "budget" if by_count else "budget_seconds"
                raise HynasError(
                    f"the study's budget ({limit}) is spent; create_study(..., {key}=...) with a larger "
                    "value continues it"
                )
            cand = self.experiment.strategy.ask(1)[0]
            number = self._next
            self._store.start(number, str(cand.arch), cand.fidelity, asked_after=len(self._told))
            self._next += 1
            trial = Trial(self, number, cand)
            self._pending[number] = trial
            return trial

    # -- tell ----------------------------------------------------------------------------------------
    def tell(
        self,
        trial: Trial,
        values: Mapping[str, float] | float | None = None,
        *,
        state: str = "completed",
        error: str = "",
    ) -> TrialRecord:
        """Record how ``trial`` ended and return its stored record.

        ``state="completed"`` (the default) needs ``values``: every metric your loop tells, by name
        (a plain number when there is exactly one). ``state="failed"`` (with an ``error`` text) or
        ``"pruned"`` (stopped early on purpose) records the trial without metrics; neither reaches
        a front. The record is committed before the strategy is told.
        """
        with self._lock:
            self._check_open()
            self._check_trial(trial)
            if state not in STATES:
                raise HynasError(f"bad state {state!r} for trial {trial.number}; valid: {', '.join(STATES)}")
            metrics: dict[str, float] = {}
            if state == "completed":
                metrics = {**self._told_values(trial, values), **trial.computed}
                self.experiment.result(trial.candidate, metrics)  # the strategy's view must exist
            elif values is not None:
                raise HynasError(
                    f"a {state} trial has no metrics: tell(trial, state={state!r}) without values "
                    f"(trial {trial.number})"
                )
            if not isinstance(error, str):
                raise HynasError(f"error must be a text, got {type(error).__name__}")
            now = time.time()
            rec = TrialRecord(
                number=trial.number,
                arch=trial.arch_string,
                status=state,
                fidelity=trial.fidelity,
                metrics=metrics,
                cost_s=max(0.0, now - trial.started_at),
                error=error or _REASONS.get(state, ""),
                started_at=trial.started_at,
                finished_at=now,
            )
            self._commit(trial, rec)
            return rec

    def _commit(self, trial: Trial, rec: TrialRecord) -> None:
        from hynas.report.analysis import fix_reference
        from hynas.runners.base import record_to_result

        self._store.finish(rec)  # committed first: a kill after this line loses nothing
        del self._pending[trial.number]
        trial.state = rec.status
        self._told.append(rec)
        bisect.insort(self.trials, rec, key=lambda r: r.number)
        self.experiment.strategy.tell([record_to_result(self.experiment, rec)])
        if self._reference is None:
            self._reference = fix_reference(self.experiment, self._store, self._told)

    def _check_open(self) -> None:
        if self._closed:
            raise HynasError("this study is closed; open it again with hynas.create_study(store=...)")

    def _check_trial(self, trial: object) -> None:
        if not isinstance(trial, Trial):
            raise HynasError(f"tell takes a trial from study.ask(), not {type(trial).__name__}")
        if trial._study is not self:
            raise HynasError(
                f"trial {trial.number} belongs to another study ({trial._study.location or 'in memory'}); "
                "tell it to the study that asked it"
            )
        if trial.number not in self._pending:
            raise HynasError(f"trial {trial.number} was already told ({trial.state}); a trial is told once")
        if trial in self._queue:
            raise HynasError(f"trial {trial.number} was not asked in this process yet; take it from ask()")

    def _told_values(self, trial: Trial, values: Mapping[str, float] | float | None) -> dict[str, float]:
        """Your metrics, checked: exactly the declared ones, each a finite number."""
        declared = [n for n, m in self.experiment.evaluator.metrics().items() if not m.hidden]
        fix = " (or tell(trial, state='failed') for a trial whose training failed)"
        if isinstance(values, numbers.Real) and not isinstance(values, bool) and len(declared) == 1:
            values = {declared[0]: float(values)}
        if not isinstance(values, Mapping):
            raise HynasError(
                f"tell needs the metrics of trial {trial.number} as a dict, e.g. "
                f"{{{', '.join(repr(n) + ': ...' for n in declared)}}}{fix}"
            )
        for name in values:
            if name in self.experiment.cost_models:
                raise HynasError(f"metric {name!r} is computed by hynas (a cost model); leave it out of tell")
            if name not in declared:
                raise HynasError(
                    f"unknown metric {name!r} for trial {trial.number}; this study's told metrics: "
                    f"{', '.join(declared)}"
                )
        missing = [n for n in declared if n not in values]
        if missing:
            raise HynasError(f"trial {trial.number} misses metric(s) {', '.join(missing)}{fix}")
        out: dict[str, float] = {}
        for name in declared:
            v = values[name]
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise HynasError(f"metric {name!r} of trial {trial.number} must be a number, got {v!r}")
            if not math.isfinite(float(v)):
                raise HynasError(f"metric {name!r} of trial {trial.number} is {float(v)}, not finite{fix}")
            out[name] = float(v)
        return out

    # -- the study's life ------------------------------------------------------------------------------
    @property
    def pending(self) -> list[int]:
        """Numbers of the trials asked (or left by an earlier run) and not told yet."""
        return sorted(self._pending)

    def close(self) -> None:
        """Stop the heartbeat and give the store's lease up (trials asked but not told stay in the
        store and are handed out again when the study is opened next)."""
        with self._lock:
            self._closed = True
            self._finalizer()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._pending)} pending"
        return super().__repr__()[:-1] + f", {state}>"


def _release(store: Store, token: str, beat: _Heartbeat, owned: bool) -> None:
    beat.done.set()
    if beat.is_alive() and beat is not threading.current_thread():
        beat.join(timeout=5)
    with contextlib.suppress(HynasError):
        store.release(token)
    if owned:
        store.close()


# -- creating and opening -------------------------------------------------------------------------------
#: the arguments of create_study that are settings of the study (None: left out)
_SETTINGS = (
    "space", "objectives", "strategy", "metrics", "constraints", "seed", "strategy_options", "dataset",
    "budget", "budget_seconds",
)  # fmt: skip


def create_study(
    space: str | None = None,
    objectives: Sequence[str] | None = None,
    strategy: str | None = None,
    store: str | os.PathLike[str] | Store | None = None,
    *,
    metrics: Sequence[str] | None = None,
    constraints: Sequence[str] | None = None,
    seed: int | None = None,
    strategy_options: Mapping[str, Any] | None = None,
    dataset: str | None = None,
    budget: int | None = None,
    budget_seconds: float | None = None,
    load_if_exists: bool = True,
    lease_s: float = 30.0,
) -> AskTellStudy:
    """A new ask/tell study, or the one stored in ``store`` continued (see the module docstring).

    ``objectives``: what to optimise; a name hynas can compute for the space (``params``,
    ``latency@roofline:raspi4``, ``hynas list objectives``) is computed, any other is told by your
    loop and needs its direction (``"accuracy:max"``). ``metrics``: more told metrics to record or
    to constrain (``["val_loss:min"]``); a name listed there is always told. ``constraints`` as in
    ``hynas search`` (``"params <= 1.5"``). ``budget``: the most trials ``ask`` hands out (default
    300; ``budget_seconds``: the most seconds of training, told trials' ask-to-tell time).

    ``store``: ``None`` keeps the trials in memory; a path or URL (as ``hynas search --store``) or
    an open store keeps them. A store that holds a study is continued (``load_if_exists=False``
    refuses it); settings you leave out are taken from it, and those you give must match it (a
    larger budget extends it). The study holds the store's lease until :meth:`AskTellStudy.close`.
    """
    from hynas.runners.base import take_over
    from hynas.stores import MemoryStore, open_store, sqlite_path
    from hynas.stores.sqlite import check_store_path
    from hynas.wiring import Experiment

    given = {k: v for k, v in locals().items() if k in _SETTINGS and v is not None}
    for key in ("objectives", "metrics", "constraints"):
        if isinstance(given.get(key), str):
            raise HynasError(
                f"bad {key} {given[key]!r}: it must be a list of strings, e.g. {key}=[{given[key]!r}]"
            )
    if isinstance(lease_s, bool) or not isinstance(lease_s, int | float) or not 0 < lease_s < math.inf:
        raise HynasError(f"bad lease_s {lease_s!r}: it must be a positive number of seconds")
    if isinstance(store, os.PathLike):
        store = os.fspath(store)
    owned = not isinstance(store, Store)
    experiment: Experiment | None = None
    if isinstance(store, Store):
        st = store
    elif store is None or store == ":memory:":
        st = MemoryStore()
    else:
        file = sqlite_path(store) if isinstance(store, str) else None
        if file is not None:
            check_store_path(file)
            if not (os.path.exists(file) and os.path.getsize(file) > 0):  # new: check before creating
                experiment = Experiment(_config(None, given))
                check_store_path(file, make_folder=True)
        st = open_store(store)
    try:
        stored = st.config()
        if stored is not None and not load_if_exists:
            raise HynasError(
                f"store {st.path!r} already holds a study; continue it with load_if_exists=True, "
                "or give another store"
            )
        if experiment is None or stored is not None:
            experiment = Experiment(_config(stored, given, st.path))
        token = uuid.uuid4().hex
        told, requeue, numbers_ = take_over(experiment, st, token, lease_s)
        try:
            return AskTellStudy(
                experiment, st, owned, told, requeue, max(numbers_, default=-1) + 1, token, lease_s
            )
        except BaseException:
            with contextlib.suppress(HynasError):
                st.release(token)
            raise
    except BaseException:
        if owned:
            st.close()
        raise


def _config(stored: Mapping[str, Any] | None, given: Mapping[str, Any], where: str = "") -> ExperimentConfig:
    """The configuration of an ask/tell study: what was ``given``, the rest from the ``stored``
    study (if any), else the defaults of :class:`~hynas.core.experiment.ExperimentConfig`."""
    base = None if stored is None else ExperimentConfig.from_dict(stored)
    if base is not None and base.evaluator != "told":
        raise HynasError(
            f"store {where!r} holds a search run by `hynas search` (evaluator {base.evaluator!r}), not an "
            "ask/tell study; read it with hynas.load, or give another store"
        )
    if base is None and ("space" not in given or "objectives" not in given):
        raise HynasError(
            "a new study needs space= and objectives=, e.g. objectives=['accuracy:max', 'params']"
        )
    pick: dict[str, Any] = {}
    for f in dataclasses.fields(ExperimentConfig):
        if base is not None:
            pick[f.name] = getattr(base, f.name)
        else:  # the dataclass's own defaults (dataset and objectives: None, not the space's)
            pick[f.name] = cast(Any, f).default_factory() if f.default is dataclasses.MISSING else f.default
    if "budget" in given or "budget_seconds" in given:  # a budget given replaces both limits
        pick["budget"], pick["budget_seconds"] = None, None
    pick.update({k: v for k, v in given.items() if k != "metrics"})
    known = list(base.evaluator_options.get("metrics", ())) if base is not None else []
    told = told_metrics(pick["space"], pick["objectives"], given.get("metrics", known), pick["constraints"])
    pick.update(evaluator="told", evaluator_options={"space": pick["space"], "metrics": told})
    return ExperimentConfig.from_dict(pick)
