"""Pareto dominance, non-dominated sorting, crowding distance, exact hypervolume and an
incremental front.

All functions work on *minimisation* values (``Objective.to_min``). The non-dominated filter and
the exact hypervolume come from moocore (C implementations: the 2-D sweep, HV3D+ in 3-D and the
WFG-style recursion beyond), about 100× faster than a Python sweep at 300 points in 2-D.
:class:`IncrementalFront` keeps the first front of a growing point set one point at a time, so a
search's progress display pays per new point, not per point seen so far.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Generic, TypeVar

import moocore
import numpy as np

__all__ = [
    "IncrementalFront",
    "crowding_distance",
    "dominates",
    "hypervolume",
    "non_dominated_sort",
    "pareto_mask",
]

T = TypeVar("T")


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a <= b) and np.any(a < b))


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points`` (n × m, minimisation).

    Duplicates of a non-dominated point are all kept. A row with a NaN is never dominated and
    dominates nothing (NaN compares false), so it is kept.
    """
    pts = np.asarray(points, dtype=float)
    n = len(pts)
    if n == 0:
        return np.zeros(0, dtype=bool)
    pts = pts.reshape(n, -1)
    nan = np.isnan(pts).any(axis=1)
    if not nan.any():
        return np.asarray(moocore.is_nondominated(pts, keep_weakly=True), dtype=bool)
    mask = nan.copy()
    if (~nan).any():
        mask[~nan] = moocore.is_nondominated(pts[~nan], keep_weakly=True)
    return mask


def non_dominated_sort(points: np.ndarray, violation: np.ndarray | None = None) -> np.ndarray:
    """Front rank of each row (0 = best), with Deb's constrained domination when ``violation`` is given.

    Feasible points dominate infeasible ones; infeasible points are ranked by violation alone.
    """
    pts = np.asarray(points, dtype=float)
    n = len(pts)
    ranks = np.full(n, -1, dtype=int)
    viol = np.zeros(n) if violation is None else np.asarray(violation, dtype=float)
    feasible = np.flatnonzero(viol <= 0)
    rank = 0
    remaining = feasible
    while len(remaining):
        mask = pareto_mask(pts[remaining])
        ranks[remaining[mask]] = rank
        remaining = remaining[~mask]
        rank += 1
    infeasible = np.flatnonzero(viol > 0)
    if len(infeasible):
        levels = np.unique(viol[infeasible])
        lookup = {v: rank + i for i, v in enumerate(levels)}
        for i in infeasible:
            ranks[i] = lookup[viol[i]]
    return ranks


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each row within one front (boundary points get ``inf``)."""
    pts = np.asarray(points, dtype=float)
    n, m = pts.shape if pts.ndim == 2 else (len(pts), 0)
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        order = np.argsort(pts[:, j], kind="stable")
        lo, hi = pts[order[0], j], pts[order[-1], j]
        dist[order[0]] = dist[order[-1]] = np.inf
        if hi == lo:
            continue
        dist[order[1:-1]] += (pts[order[2:], j] - pts[order[:-2], j]) / (hi - lo)
    return dist


def hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact hypervolume dominated by ``points`` and bounded by the reference point ``ref``.

    Points that do not strictly dominate ``ref`` in every objective contribute nothing.
    """
    ref = np.asarray(ref, dtype=float)
    pts = np.asarray(points, dtype=float).reshape(-1, len(ref))
    pts = pts[np.all(pts < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    if len(ref) == 1:
        return float(ref[0] - pts[:, 0].min())
    return float(moocore.hypervolume(pts, ref=ref))


class IncrementalFront(Generic[T]):
    """The first front of a growing point set under constrained domination, one point at a time.

    Members are exactly the rows that :func:`non_dominated_sort` ranks 0 for all points added so
    far (given their violations): when any point is feasible (violation <= 0), the non-dominated
    feasible points, duplicates included; otherwise every point with the smallest violation.
    A new point is either rejected (front unchanged, in O(front size)) or enters and removes what
    it dominates. :meth:`hypervolume` is recomputed only when the feasible front or the reference
    point changed since the last call.
    """

    def __init__(self, n_objectives: int) -> None:
        self.m = n_objectives
        self._pts = np.empty((0, n_objectives))
        self._items: list[T] = []
        self._level = math.inf  # violation of the current members (0: feasible front)
        self._hv: tuple[tuple[float, ...], float] | None = None  # (ref, value) of the last call
        self.version = 0  # bumped whenever the points (not merely duplicates) change

    def __len__(self) -> int:
        return len(self._items)

    @property
    def points(self) -> np.ndarray:
        """Member points in insertion order (a copy)."""
        return self._pts.copy()

    @property
    def items(self) -> list[T]:
        """Payloads of the members in insertion order."""
        return list(self._items)

    @property
    def feasible(self) -> bool:
        return self._level == 0.0

    def add(self, point: Sequence[float] | np.ndarray, item: T, violation: float = 0.0) -> bool:
        """Offer one point; ``True`` if it joined the front."""
        p = np.asarray(point, dtype=float).reshape(self.m)
        v = 0.0 if violation <= 0 else float(violation)
        if math.isnan(v) or v > self._level:  # a NaN violation is never ranked (as in the sort)
            return False
        if v < self._level:  # better violation level: a new front of one
            self._pts, self._items, self._level = p[None, :].copy(), [item], v
            self._changed()
            return True
        f = self._pts
        if v > 0:  # infeasible points tie on violation alone
            self._pts, self._items = np.vstack([f, p]), [*self._items, item]
            return True
        le = f <= p
        if np.any(le.all(axis=1) & (f < p).any(axis=1)):
            return False
        duplicate = bool(np.any(le.all(axis=1) & (f >= p).all(axis=1)))
        keep = np.logical_not((p <= f).all(axis=1) & (p < f).any(axis=1))
        self._pts = np.vstack([f[keep], p])
        self._items = [it for it, k in zip(self._items, keep.tolist(), strict=True) if k] + [item]
        if not duplicate:
            self._changed()
        return True

    def _changed(self) -> None:
        self.version += 1
        self._hv = None

    def hypervolume(self, ref: Sequence[float] | np.ndarray) -> float:
        """Exact hypervolume of the feasible front (0 when no point is feasible), cached."""
        key = tuple(float(x) for x in np.asarray(ref, dtype=float).reshape(self.m))
        if self._hv is None or self._hv[0] != key:
            value = hypervolume(self._pts, np.array(key)) if self.feasible else 0.0
            self._hv = (key, value)
        return self._hv[1]
