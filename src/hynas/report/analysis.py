"""Run-level analysis: Pareto front of a run, reference point, true front and anytime curves.

Reference point (for every hypervolume hynas prints): in minimisation form, the worst value of each
objective over the whole space when the space is enumerable (NAS-Bench-201: all 15,625 cells, so
every architecture lies inside the box), otherwise the worst value the run observed. The reference
point used is always written into reports and ``--json`` output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hynas.core.experiment import Experiment
from hynas.core.pareto import hypervolume, pareto_mask
from hynas.core.store import TrialRecord

__all__ = ["Anytime", "Front", "anytime", "reference_point", "run_front", "space_table", "true_front"]


@dataclass(frozen=True)
class Front:
    points: np.ndarray  # minimisation form, one row per front member
    records: list[TrialRecord]
    hypervolume: float


def _loss(exp: Experiment, metrics: dict[str, float]) -> np.ndarray:
    return np.array([o.to_min(metrics[o.name]) for o in exp.objectives])


def _feasible(exp: Experiment, metrics: dict[str, float]) -> bool:
    return all(c.violation(metrics[c.name]) == 0.0 for c in exp.constraints)


def space_table(exp: Experiment) -> dict[str, np.ndarray] | None:
    """Objective and constraint values of every architecture, when the space is enumerable."""
    return exp.table()


def reference_point(exp: Experiment, records: list[TrialRecord] | None = None) -> np.ndarray:
    table = space_table(exp)
    if table is not None:
        return np.array([np.nanmax([o.to_min(v) for v in table[o.name]]) for o in exp.objectives])
    pts = [_loss(exp, r.metrics) for r in records or [] if r.ok]
    if not pts:
        return np.full(len(exp.objectives), np.inf)
    return np.max(pts, axis=0)


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


def true_front(exp: Experiment) -> Front | None:
    """The exact Pareto front of the whole space (feasible points only), if it is enumerable."""
    table = space_table(exp)
    if table is None:
        return None
    pts = np.column_stack([[o.to_min(v) for v in table[o.name]] for o in exp.objectives])
    feas = np.ones(len(pts), dtype=bool)
    for c in exp.constraints:
        feas &= np.array([c.violation(v) == 0.0 for v in table[c.name]])
    pts = pts[feas & ~np.isnan(pts).any(axis=1)]
    if len(pts) == 0:
        return Front(np.zeros((0, len(exp.objectives))), [], 0.0)
    mask = pareto_mask(pts)
    return Front(pts[mask], [], hypervolume(pts[mask], reference_point(exp)))


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
    n = len(records)
    best = np.full(n, np.nan)
    hidden_names = sorted({k for r in records for k in r.hidden})
    best_hidden = {k: np.full(n, np.nan) for k in hidden_names}
    hv = np.zeros(n)
    front: list[np.ndarray] = []
    inc: TrialRecord | None = None
    cur_hv = 0.0
    for i, r in enumerate(records):
        if r.ok and _feasible(exp, r.metrics):
            if inc is None or obj.to_min(r.metrics[obj.name]) < obj.to_min(inc.metrics[obj.name]):
                inc = r
            p = _loss(exp, r.metrics)
            if not any(np.all(q <= p) for q in front):
                front = [q for q in front if not (np.all(p <= q) and np.any(p < q))] + [p]
                cur_hv = hypervolume(np.array(front), ref) if len(exp.objectives) > 1 else math.nan
        if inc is not None:
            best[i] = inc.metrics[obj.name]
            for k in hidden_names:
                best_hidden[k][i] = inc.hidden.get(k, np.nan)
        hv[i] = cur_hv
    seconds = np.cumsum([r.cost_s for r in records]) if records else np.zeros(0)
    return Anytime(np.arange(1, n + 1), seconds, best, best_hidden, hv)
