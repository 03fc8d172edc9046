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


# -- incremental front and the library-backed filter / hypervolume --------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from hynas.core.pareto import IncrementalFront  # noqa: E402


def _slicing_hv(pts, ref):
    """Hypervolume by slicing objectives (While et al. 2006), written independently of the library."""
    pts = pts[np.all(pts < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    if pts.shape[1] == 1:
        return float(ref[0] - pts[:, 0].min())
    pts = pts[np.argsort(pts[:, -1], kind="stable")]
    vol = 0.0
    for i in range(len(pts)):
        upper = pts[i + 1, -1] if i + 1 < len(pts) else ref[-1]
        if upper > pts[i, -1]:
            vol += (upper - pts[i, -1]) * _slicing_hv(pts[: i + 1, :-1], ref[:-1])
    return vol


@st.composite
def _point_sets(draw):
    m = draw(st.integers(2, 4))
    n = draw(st.integers(0, 40))
    # a small value grid makes ties and duplicates frequent
    vals = st.integers(0, 5).map(float)
    pts = np.array(draw(st.lists(st.lists(vals, min_size=m, max_size=m), min_size=n, max_size=n)))
    pts = pts.reshape(n, m)
    viol = np.array(draw(st.lists(st.sampled_from([0.0, 0.0, 0.0, 0.5, 1.0]), min_size=n, max_size=n)))
    return pts, viol


@settings(max_examples=200, deadline=None)
@given(_point_sets())
def test_incremental_front_equals_the_batch_front(data):
    pts, viol = data
    m = pts.shape[1]
    ref = np.full(m, 6.0)
    inc: IncrementalFront[int] = IncrementalFront(m)
    for i in range(len(pts)):
        inc.add(pts[i], i, viol[i])
        # after every step: members == rank 0 of the constrained sort of the points so far
        ranks = non_dominated_sort(pts[: i + 1], viol[: i + 1])
        assert sorted(inc.items) == list(np.flatnonzero(ranks == 0))
        assert (inc.points == pts[inc.items]).all()
        feas = np.flatnonzero(viol[: i + 1] <= 0)
        assert inc.feasible == bool(len(feas))
        want = _slicing_hv(pts[feas], ref) if len(feas) else 0.0
        assert inc.hypervolume(ref) == pytest.approx(want, rel=1e-12, abs=1e-12)
        assert hypervolume(pts[feas], ref) == pytest.approx(want, rel=1e-12, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(_point_sets())
def test_pareto_mask_matches_brute_force_with_ties(data):
    pts, _ = data
    assert (pareto_mask(pts) == _brute_front(pts)).all() if len(pts) else len(pareto_mask(pts)) == 0


def test_incremental_front_recomputes_hypervolume_only_on_change(monkeypatch):
    import hynas.core.pareto as P

    calls = []
    real = P.hypervolume
    monkeypatch.setattr(P, "hypervolume", lambda pts, ref: calls.append(len(pts)) or real(pts, ref))
    inc: IncrementalFront[str] = IncrementalFront(2)
    ref = np.array([10.0, 10.0])
    inc.add([1.0, 5.0], "a")
    assert inc.hypervolume(ref) == 45.0 and len(calls) == 1
    assert not inc.add([2.0, 6.0], "dominated")  # rejected: no recompute
    assert inc.add([1.0, 5.0], "duplicate")  # joins, same volume: no recompute
    assert inc.hypervolume(ref) == 45.0 and len(calls) == 1
    assert inc.add([0.0, 5.0], "better")  # removes both copies of (1, 5)
    assert inc.items == ["better"]
    assert inc.hypervolume(ref) == 50.0 and len(calls) == 2
    assert inc.hypervolume(np.array([11.0, 11.0])) == 66.0 and len(calls) == 3  # new reference


def test_pareto_mask_keeps_nan_rows_like_comparisons_do():
    pts = np.array([[0.0, 0.0], [np.nan, 1.0], [1.0, 1.0]])
    assert list(pareto_mask(pts)) == [True, True, False]
