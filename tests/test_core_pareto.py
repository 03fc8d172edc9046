from __future__ import annotations

import itertools

import numpy as np
import pytest

from hynas.core.pareto import crowding_distance, hypervolume, non_dominated_sort, pareto_mask


def _brute_front(pts):
    n = len(pts)
    return np.array(
        [not any(np.all(pts[j] <= pts[i]) and np.any(pts[j] < pts[i]) for j in range(n)) for i in range(n)]
    )


def _grid_hv(pts, ref):
    """Exact HV on integer points by counting unit cells (independent of the implementation)."""
    lo = pts.min(axis=0)
    count = 0
    for cell in itertools.product(*(range(int(a), int(r)) for a, r in zip(lo, ref, strict=True))):
        c = np.array(cell)
        if np.any(np.all(pts <= c, axis=1)):
            count += 1
    return count


@pytest.mark.parametrize("m", [2, 3, 4])
def test_pareto_mask_matches_brute_force(m):
    rng = np.random.default_rng(m)
    pts = rng.integers(0, 6, size=(60, m)).astype(float)
    assert (pareto_mask(pts) == _brute_front(pts)).all()


@pytest.mark.parametrize("m", [2, 3, 4])
def test_hypervolume_exact_against_cell_count(m):
    rng = np.random.default_rng(10 + m)
    for _ in range(5):
        pts = rng.integers(0, 7, size=(12, m)).astype(float)
        ref = np.full(m, 8.0)
        assert hypervolume(pts, ref) == pytest.approx(_grid_hv(pts, ref))


def test_hypervolume_edge_cases():
    ref = np.array([1.0, 1.0])
    assert hypervolume(np.zeros((0, 2)), ref) == 0.0
    assert hypervolume(np.array([[2.0, 0.0]]), ref) == 0.0  # outside the box
    assert hypervolume(np.array([[0.0, 0.0]]), ref) == 1.0
    assert hypervolume(np.array([[0.5, 0.0], [0.0, 0.5]]), ref) == pytest.approx(0.75)


def test_constrained_sort_puts_feasible_first():
    pts = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [5.0, 5.0]])
    viol = np.array([0.5, 0.0, 0.2, 0.0])
    ranks = non_dominated_sort(pts, viol)
    # feasible: [1,1] rank 0, [5,5] rank 1; infeasible by violation: 0.2 then 0.5
    assert list(ranks) == [3, 0, 2, 1]


def test_crowding_distance_boundaries_infinite():
    pts = np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]])
    d = crowding_distance(pts)
    assert np.isinf(d[0]) and np.isinf(d[3])
    assert d[1] == pytest.approx(d[2]) and np.isfinite(d[1])
