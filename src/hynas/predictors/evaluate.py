"""Predictor quality on a tabular space: rank correlation against training-set size.

Protocol (as in White et al., "How Powerful are Performance Predictors in NAS?", NeurIPS 2021):
draw a fixed random test set of ``test_size`` architectures; for each training size ``n`` and each
of ``trials`` repeats, fit the predictor on ``n`` random architectures outside the test set and
report Kendall τ and Spearman ρ between predicted and true values on the test set (mean ± std over
repeats).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import kendalltau, spearmanr

from hynas.core.errors import HynasError

__all__ = ["evaluate_predictor", "space_data"]


def space_data(
    space: str, dataset: str | None, metric: str = "accuracy", encoding: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Encodings and ``metric`` of every architecture of an enumerable space with tabular data."""
    from hynas.evaluators import make_evaluator
    from hynas.spaces import get_space

    sp = get_space(space)
    opts: dict[str, Any] = {} if dataset is None else {"dataset": dataset}
    ev = make_evaluator(space, None, **opts)
    visible = sorted(n for n, m in ev.metrics().items() if not m.hidden)
    if metric not in ev.metrics() or ev.metrics()[metric].hidden:
        raise HynasError(f"unknown metric {metric!r} for {space}; valid: {', '.join(visible)}")
    table = ev.table([metric])
    if table is None:
        raise HynasError(
            f"space {space!r} has no tabular data to evaluate predictors on (need an exhaustive evaluator)"
        )
    enc = encoding or ("path" if "path" in sp.encodings() else "onehot")
    if enc not in sp.encodings():
        raise HynasError(f"space {space!r} has no {enc!r} encoding; valid: {', '.join(sp.encodings())}")
    x = np.array([sp.encode(a, enc) for a in sp.enumerate()], dtype=np.float64)
    y = np.asarray(table[metric], dtype=np.float64)
    keep = np.isfinite(y)
    return x[keep], y[keep]


def evaluate_predictor(
    x: np.ndarray,
    y: np.ndarray,
    predictor: str,
    sizes: Sequence[int] = (10, 20, 50, 100, 200),
    trials: int = 5,
    test_size: int = 1000,
    seed: int = 0,
    options: dict[str, Any] | None = None,
) -> list[dict[str, float]]:
    """One row per training size: mean/std Kendall τ and Spearman ρ, and fit+predict seconds."""
    from hynas.predictors import PREDICTORS

    PREDICTORS.factory(predictor)
    if any(int(n) < 2 for n in sizes):
        raise HynasError(f"training sizes must be >= 2, got {list(sizes)}")
    if trials < 1:
        raise HynasError(f"trials must be >= 1, got {trials}")
    if test_size < 10 or test_size + max(sizes) > len(y):
        raise HynasError(f"test size must be in 10..{len(y) - max(sizes)} for this space, got {test_size}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    test, rest = perm[:test_size], perm[test_size:]
    rows = []
    for n in sizes:
        taus, rhos, secs = [], [], []
        for t in range(trials):
            train = rng.choice(rest, size=int(n), replace=False)
            t0 = time.perf_counter()
            model = PREDICTORS.create(predictor, seed=seed * 1000 + t, **(options or {}))
            mean, _ = model.fit(x[train], y[train]).predict(x[test])
            secs.append(time.perf_counter() - t0)
            taus.append(float(kendalltau(mean, y[test])[0]))
            rhos.append(float(spearmanr(mean, y[test])[0]))
        rows.append(
            {
                "train_size": int(n),
                "kendall_tau": float(np.nanmean(taus)),
                "kendall_tau_std": float(np.nanstd(taus)),
                "spearman": float(np.nanmean(rhos)),
                "spearman_std": float(np.nanstd(rhos)),
                "seconds": float(np.mean(secs)),
            }
        )
    return rows
