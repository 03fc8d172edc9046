"""Pareto dominance, non-dominated sorting, crowding distance and exact hypervolume.

All functions work on *minimisation* values (``Objective.to_min``). The hypervolume is exact: a
sweep in 2-D, and the "hypervolume by slicing objectives" recursion (While et al. 2006) in more
dimensions, fine for the front sizes a NAS run produces.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "crowding_distance",
    "dominates",
    "hypervolume",
    "non_dominated_sort",
    "pareto_mask",
]


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a <= b) and np.any(a < b))


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points`` (n × m, minimisation).

    Duplicates of a non-dominated point are all kept.
    """
    pts = np.asarray(points, dtype=float)
    n = len(pts)
    if n == 0:
        return np.zeros(0, dtype=bool)
    # in lexicographic order a point can only be dominated by one before it
    order = np.lexsort(pts.T[::-1])
    mask = np.zeros(n, dtype=bool)
    front = np.empty_like(pts)
    k = 0
    for i in order:
        p = pts[i]
        if k:
            f = front[:k]
            if np.any(np.all(f <= p, axis=1) & np.any(f < p, axis=1)):
                continue
        mask[i] = True
        front[k] = p
        k += 1
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
    pts = np.asarray(points, dtype=float).reshape(-1, len(ref))
    ref = np.asarray(ref, dtype=float)
    pts = pts[np.all(pts < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pts[pareto_mask(pts)]
    pts = np.unique(pts, axis=0)
    return _hv(pts, ref)


def _hv(pts: np.ndarray, ref: np.ndarray) -> float:
    m = pts.shape[1]
    if m == 1:
        return float(ref[0] - pts[:, 0].min())
    if m == 2:
        order = np.argsort(pts[:, 0], kind="stable")
        vol, best_y = 0.0, ref[1]
        for x, y in pts[order]:
            if y < best_y:
                vol += (ref[0] - x) * (best_y - y)
                best_y = y
        return float(vol)
    # slice along the last objective
    order = np.argsort(pts[:, -1], kind="stable")
    pts = pts[order]
    vol = 0.0
    for i in range(len(pts)):
        upper = pts[i + 1, -1] if i + 1 < len(pts) else ref[-1]
        depth = upper - pts[i, -1]
        if depth <= 0:
            continue
        sub = pts[: i + 1, :-1]
        sub = sub[pareto_mask(sub)]
        vol += depth * _hv(sub, ref[:-1])
    return float(vol)
