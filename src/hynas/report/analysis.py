"""Run-level analysis: Pareto front of a run, reference point, true front and anytime curves.

Reference point (for every hypervolume hynas prints), in minimisation form, per objective:

- **from a table** when the objective's value of every architecture is already stored (the
  evaluator's benchmark table or a table-backed cost model such as ``energy@ecnas``, in an
  enumerable space: NAS-Bench-201's 15,625 cells, EC-NAS-Bench's 2,532): the worst value over the
  whole space, so every architecture lies inside the box;
- **from the run** otherwise (a computed cost model such as ``zc@synflow`` or ``latency@local``, or
  a space that cannot be enumerated): the worst value over the first :data:`REFERENCE_TRIALS`
  completed trials (by trial number) plus :data:`REFERENCE_MARGIN` of their range. It is fixed, and
  written into the store, once that many trials have completed, so the hypervolume of a run stays
  comparable as it grows and a resumed run reports the same hypervolume as an uninterrupted one;
  until then it is provisional (from the completed trials so far). A stored point wins over
  recomputation. Points outside the box contribute nothing.

A cost model is never evaluated over the whole space, neither to start a run nor to report it. The
true front (and the hypervolume ratio) is shown only when every objective and constraint comes from
a table. The reference point used is always written into reports and ``--json`` output.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from hynas.core.pareto import IncrementalFront, hypervolume, pareto_mask
from hynas.core.store import Store, TrialRecord
from hynas.wiring import Experiment

__all__ = [
    "REFERENCE_MARGIN",
    "REFERENCE_TRIALS",
    "Anytime",
    "Front",
    "RunFront",
    "anytime",
    "fix_reference",
    "reference_point",
    "run_front",
    "space_table",
    "true_front",
]

#: completed trials the observed part of the reference point is taken from
REFERENCE_TRIALS = 10
#: the observed reference lies this fraction of the observed range past the worst value
REFERENCE_MARGIN = 0.1


@dataclass(frozen=True)
class Front:
    points: np.ndarray  # minimisation form, one row per front member
    records: list[TrialRecord]
    hypervolume: float


def _loss(exp: Experiment, metrics: dict[str, float]) -> np.ndarray:
    return np.array([o.to_min(metrics[o.name]) for o in exp.objectives])


def _feasible(exp: Experiment, metrics: dict[str, float]) -> bool:
    return all(c.violation(metrics[c.name]) == 0.0 for c in exp.constraints)


def _violation(exp: Experiment, metrics: dict[str, float]) -> float:
    return float(sum(c.violation(metrics[c.name]) for c in exp.constraints))


def space_table(exp: Experiment) -> dict[str, np.ndarray] | None:
    """Objective and constraint values of every architecture, when all of them come from a table."""
    return exp.table()


def _table_reference(exp: Experiment) -> np.ndarray:
    """Worst value over the space of each objective stored in a table; NaN for the others."""
    out = np.full(len(exp.objectives), np.nan)
    for j, o in enumerate(exp.objectives):
        col = exp.column(o.name)
        if col is not None:
            out[j] = np.nanmax(-col if o.direction == "max" else col)
    return out


def _observed_reference(losses: np.ndarray) -> np.ndarray:
    """Worst of ``losses`` (rows: the first completed trials) plus the margin of their range."""
    worst, best = losses.max(axis=0), losses.min(axis=0)
    span = worst - best
    span = np.where(span > 0, span, np.where(worst != 0, np.abs(worst), 1.0))
    return np.asarray(worst + REFERENCE_MARGIN * span, dtype=float)


def _first_losses(exp: Experiment, records: list[TrialRecord]) -> np.ndarray:
    ok = sorted((r for r in records if r.ok), key=lambda r: r.number)[:REFERENCE_TRIALS]
    return np.array([_loss(exp, r.metrics) for r in ok]).reshape(len(ok), len(exp.objectives))


def reference_point(
    exp: Experiment, records: list[TrialRecord] | None = None, stored: dict[str, float] | None = None
) -> np.ndarray:
    """The reference point (minimisation form) of a run; see the module docstring.

    ``stored``: the point fixed in the run's store (:meth:`Store.reference`), if any. Objectives
    without a table and without completed trials get ``inf``.
    """
    ref = _table_reference(exp)
    missing = np.isnan(ref)
    if not missing.any():
        return ref
    stored = stored or {}
    for j, o in enumerate(exp.objectives):
        if missing[j] and o.name in stored:
            ref[j] = stored[o.name]
            missing[j] = False
    if missing.any():
        losses = _first_losses(exp, records or [])
        ref[missing] = _observed_reference(losses)[missing] if len(losses) else np.inf
    return ref


def fix_reference(exp: Experiment, store: Store, records: list[TrialRecord]) -> dict[str, float] | None:
    """The stored reference point of the objectives no table covers: read it, or, once
    :data:`REFERENCE_TRIALS` trials have completed, compute and store it. ``None`` while it is
    still provisional (or when every objective comes from a table)."""
    stored = store.reference()
    if stored is not None:
        return stored
    table_ref = _table_reference(exp)
    observed = [o.name for j, o in enumerate(exp.objectives) if np.isnan(table_ref[j])]
    if not observed or sum(r.ok for r in records) < REFERENCE_TRIALS:
        return None
    ref = reference_point(exp, records)
    values = {o.name: float(ref[j]) for j, o in enumerate(exp.objectives) if o.name in observed}
    store.set_reference(values)
    return store.reference() or values


def run_front(exp: Experiment, records: list[TrialRecord], ref: np.ndarray | None = None) -> Front:
    ok = [r for r in records if r.ok and _feasible(exp, r.metrics)]
    if ref is None:
        ref = reference_point(exp, records)
    if not ok:
        return Front(np.zeros((0, len(exp.objectives))), [], 0.0)
    pts = np.array([_loss(exp, r.metrics) for r in ok])
    mask = pareto_mask(pts)
    front_recs = [r for r, m in zip(ok, mask, strict=True) if m]
    order = np.argsort(pts[mask][:, 0], kind="stable")
    return Front(pts[mask][order], [front_recs[i] for i in order], hypervolume(pts[mask], ref))


_TRUE_FRONTS: weakref.WeakKeyDictionary[Experiment, Front | None] = weakref.WeakKeyDictionary()


def true_front(exp: Experiment) -> Front | None:
    """The exact Pareto front of the whole space (feasible points only), if every objective and
    constraint comes from a table (never by evaluating a cost model over the space). Cached."""
    if exp in _TRUE_FRONTS:
        return _TRUE_FRONTS[exp]
    table = space_table(exp)
    out: Front | None = None
    if table is not None:
        pts: np.ndarray = np.column_stack(
            [-table[o.name] if o.direction == "max" else table[o.name] for o in exp.objectives]
        ).astype(float)
        feas = np.ones(len(pts), dtype=bool)
        for c in exp.constraints:
            feas &= np.array([c.violation(v) == 0.0 for v in table[c.name]])
        pts = pts[feas & ~np.isnan(pts).any(axis=1)]
        if len(pts) == 0:
            out = Front(np.zeros((0, len(exp.objectives))), [], 0.0)
        else:
            mask = pareto_mask(pts)
            out = Front(pts[mask], [], hypervolume(pts[mask], reference_point(exp)))
    _TRUE_FRONTS[exp] = out
    return out


class RunFront:
    """The front, incumbent and hypervolume of a run as its trials arrive (the search's progress
    display), at a cost per new trial that does not grow with the run: each completed trial is
    offered to an :class:`~hynas.core.pareto.IncrementalFront` (feasible first, as the constrained
    domination of ``core/pareto.py``), and the hypervolume is recomputed only when the front or
    the reference point changed.

    :meth:`update` takes the runner's growing list of records and reads only the new ones.
    ``newly_fixed`` is set when the observed part of the reference point has just been fixed
    (the caller writes it to the store).
    """

    def __init__(self, exp: Experiment, stored: dict[str, float] | None = None) -> None:
        self.exp = exp
        self.front: IncrementalFront[TrialRecord] = IncrementalFront(len(exp.objectives))
        self._ref = _table_reference(exp)  # NaN where the run's trials decide
        self._observed = np.isnan(self._ref)
        names = [o.name for o, m in zip(exp.objectives, self._observed, strict=True) if m]
        stored = stored or {}
        #: the observed part of the reference point once fixed (None while provisional, or when
        #: every objective comes from a table)
        self.fixed: dict[str, float] | None = None
        if names and all(n in stored for n in names):
            self.fixed = {n: float(stored[n]) for n in names}
            for j, o in enumerate(exp.objectives):
                if self._observed[j]:
                    self._ref[j] = stored[o.name]
            self._observed[:] = False
        self._first: list[tuple[int, np.ndarray]] = []
        self._n = 0
        self.newly_fixed = False

    def update(self, records: list[TrialRecord]) -> None:
        self.newly_fixed = False
        for r in records[self._n :]:
            if not r.ok:
                continue
            loss = _loss(self.exp, r.metrics)
            if self._observed.any() and len(self._first) < REFERENCE_TRIALS:
                self._first.append((r.number, loss))
                if len(self._first) == REFERENCE_TRIALS:
                    self._fix()
            self.front.add(loss, r, _violation(self.exp, r.metrics))
        self._n = len(records)

    def _fix(self) -> None:
        ref = self.reference()
        self.fixed = {o.name: float(ref[j]) for j, o in enumerate(self.exp.objectives) if self._observed[j]}
        self._ref = ref
        self._observed[:] = False
        self.newly_fixed = True

    def reference(self) -> np.ndarray:
        ref = self._ref.copy()
        if self._observed.any():
            if self._first:
                losses = np.array([loss for _, loss in sorted(self._first, key=lambda t: t[0])])
                ref[self._observed] = _observed_reference(losses)[self._observed]
            else:
                ref[self._observed] = np.inf
        return ref

    @property
    def hypervolume(self) -> float:
        return self.front.hypervolume(self.reference())

    def best(self) -> TrialRecord | None:
        """The feasible completed trial with the best first objective (first of equals)."""
        if not self.front.feasible:
            return None
        o = self.exp.objectives[0]
        return min(self.front.items, key=lambda r: (o.to_min(r.metrics[o.name]), r.number))


@dataclass(frozen=True)
class Anytime:
    queries: np.ndarray  # 1..n
    seconds: np.ndarray  # cumulative (simulated) cost
    best: np.ndarray  # best first objective so far (natural direction; NaN until a feasible result)
    best_hidden: dict[str, np.ndarray]  # hidden metrics of the incumbent (e.g. its test accuracy)
    hypervolume: np.ndarray  # HV of the front so far


def anytime(exp: Experiment, records: list[TrialRecord], ref: np.ndarray | None = None) -> Anytime:
    if ref is None:
        ref = reference_point(exp, records)
    obj = exp.objectives[0]
    multi = len(exp.objectives) > 1
    n = len(records)
    best = np.full(n, np.nan)
    hidden_names = sorted({k for r in records for k in r.hidden})
    best_hidden = {k: np.full(n, np.nan) for k in hidden_names}
    hv = np.zeros(n)
    front: IncrementalFront[None] = IncrementalFront(len(exp.objectives))
    inc: TrialRecord | None = None
    cur_hv = 0.0
    for i, r in enumerate(records):
        if r.ok and _feasible(exp, r.metrics):
            if inc is None or obj.to_min(r.metrics[obj.name]) < obj.to_min(inc.metrics[obj.name]):
                inc = r
            if front.add(_loss(exp, r.metrics), None) or not multi:
                cur_hv = front.hypervolume(ref) if multi else np.nan
        if inc is not None:
            best[i] = inc.metrics[obj.name]
            for k in hidden_names:
                best_hidden[k][i] = inc.hidden.get(k, np.nan)
        hv[i] = cur_hv
    seconds = np.cumsum([r.cost_s for r in records]) if records else np.zeros(0)
    return Anytime(np.arange(1, n + 1), seconds, best, best_hidden, hv)
