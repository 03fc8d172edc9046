"""The predictor contract: ``fit(X, y)``, ``predict(X) -> (mean, std)``."""

from __future__ import annotations

import abc

import numpy as np

from hynas.core.errors import HynasError

__all__ = ["Predictor", "check_xy"]


def check_xy(x: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate shapes and finiteness; returns float64 copies."""
    xa = np.asarray(x, dtype=np.float64)
    if xa.ndim != 2:
        raise HynasError(f"predictor input must be a 2-D array (rows = architectures), got shape {xa.shape}")
    if y is None:
        return xa, None
    ya = np.asarray(y, dtype=np.float64).ravel()
    if len(ya) != len(xa):
        raise HynasError(f"predictor got {len(xa)} encodings but {len(ya)} targets")
    if len(ya) < 2:
        raise HynasError(f"a predictor needs at least 2 training points, got {len(ya)}")
    if not np.all(np.isfinite(ya)):
        raise HynasError("predictor targets contain NaN or infinite values")
    return xa, ya


class Predictor(abc.ABC):
    """A regressor on architecture encodings that also reports its uncertainty."""

    name: str = ""

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self._fitted = False

    @abc.abstractmethod
    def _fit(self, x: np.ndarray, y: np.ndarray) -> None: ...

    @abc.abstractmethod
    def _predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def fit(self, x: np.ndarray, y: np.ndarray) -> Predictor:
        """Fit on encodings ``x`` (n × d) and targets ``y`` (n); targets are standardised inside."""
        xa, ya = check_xy(x, y)
        assert ya is not None
        self._mu = float(ya.mean())
        self._sd = float(ya.std()) or 1.0
        self._fit(xa, (ya - self._mu) / self._sd)
        self._fitted = True
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the prediction for each row of ``x``."""
        if not self._fitted:
            raise HynasError(f"predictor {self.name!r} must be fitted before predict")
        xa, _ = check_xy(x)
        mean, std = self._predict(xa)
        return mean * self._sd + self._mu, np.maximum(std, 0.0) * self._sd
