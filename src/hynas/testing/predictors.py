"""The predictor contract (:class:`hynas.predictors.base.Predictor`), as reusable checks.

``check_predictor(make)``, with ``make(seed)`` building a fresh predictor: ``predict`` gives a mean
and a non-negative spread per row; fitted on a known function of binary features it ranks held-out
rows well (Spearman > 0.8); the same seed gives the same predictions; ``predict`` before ``fit``
and non-finite targets are clear :class:`~hynas.core.errors.HynasError`\\ s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hynas.core.errors import HynasError
from hynas.predictors.base import Predictor
from hynas.testing._assert import expect

__all__ = ["check_predictor", "known_function"]


def known_function(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows of 12 binary features and a target: linear plus one interaction."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=(n, 12)).astype(float)
    w = np.linspace(-1, 2, 12)
    return x, x @ w + 0.5 * x[:, 0] * x[:, 1]


def _raises_hynas_error(call: Callable[[], object]) -> bool:
    try:
        call()
    except HynasError:
        return True
    return False


def check_predictor(make: Callable[[int], Predictor], min_spearman: float = 0.8) -> None:
    """Shapes, rank quality on :func:`known_function`, determinism under a seed, clear errors."""
    from scipy.stats import spearmanr

    fresh = make(0)
    name = fresh.name or type(fresh).__name__
    expect(
        _raises_hynas_error(lambda: fresh.predict(np.zeros((2, 12)))),
        f"predictor {name!r}: predict before fit is not a HynasError",
    )
    x, y = known_function(160)
    bad = y[:100].copy()
    bad[3] = np.nan
    expect(
        _raises_hynas_error(lambda: make(0).fit(x[:100], bad)),
        f"predictor {name!r}: NaN targets are not a HynasError",
    )
    mean, std = make(0).fit(x[:100], y[:100]).predict(x[100:])
    expect(mean.shape == std.shape == (60,), f"predictor {name!r}: predict shapes {mean.shape}, {std.shape}")
    expect(np.all(np.isfinite(mean)) and np.all(std >= 0), f"predictor {name!r}: bad mean or negative std")
    rho = float(spearmanr(mean, y[100:])[0])
    expect(
        rho > min_spearman, f"predictor {name!r}: Spearman {rho:.3f} <= {min_spearman} on a known function"
    )
    xs, ys = known_function(60)
    a = make(3).fit(xs[:40], ys[:40]).predict(xs[40:])[0]
    b = make(3).fit(xs[:40], ys[:40]).predict(xs[40:])[0]
    expect(np.allclose(a, b), f"predictor {name!r}: two fits with seed 3 predict differently")
