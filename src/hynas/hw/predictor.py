"""Learned latency predictors and few-shot device transfer.

:class:`LatencyPredictor` is a regressor (gradient boosting or a small MLP, scikit-learn) from the
architecture's features to log latency, trained on measured (architecture, latency) pairs of one
device.

:class:`FewShotLatencyPredictor` adapts to a *new* device from k ≤ 20 measured architectures, in the
spirit of HELP (Lee, Lee & Hwang, "HELP: Hardware-Adaptive Efficient Latency Prediction for NAS via
Meta-Learning", NeurIPS 2021): knowledge from known (source) devices is learned once, and only a
small per-device part is fitted on the target's few samples. HELP meta-learns an MLP conditioned on
a device embedding; here the device-agnostic part is one pre-trained :class:`LatencyPredictor` per
source device (by default the four HW-NAS-Bench devices), and the per-device part is a ridge head on

    [log latency predicted on each source device, per-choice counts, structural extras]

whose feature set (sources only, structure only, or both) and regularisation are chosen by
leave-one-out cross-validation on the k samples (the efficient LOO of
:class:`sklearn.linear_model.RidgeCV`). The source predictions carry how the
known devices rank networks; the per-choice counts (how often each operation / kernel / expansion
occurs) let the head re-weight operations whose relative cost differs on the new device.

Features (:func:`features`): the space's one-hot encoding, the per-choice counts (dimensions that
share the same choices are summed), for NAS-Bench-201 whether the cell connects input to output (a
cell without a path is compiled away by TFLite on the phone and Raspberry Pi), and for spaces too
large to enumerate the log analytic costs (FLOPs, params, bytes, operators, peak activations).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.errors import HynasError
from hynas.core.space import SearchSpace

__all__ = [
    "MIN_FIT",
    "MIN_SHOTS",
    "MODELS",
    "FewShotLatencyPredictor",
    "LatencyPredictor",
    "features",
    "hwnasbench_sources",
    "structure_features",
]

MODELS = ("gbm", "mlp")
MIN_FIT = 10  # samples a predictor needs
MIN_SHOTS = 3  # samples the few-shot head needs
#: feature sets the few-shot head chooses between by leave-one-out CV on the k samples
HEADS = ("sources", "structure", "both")


def _one_thread() -> AbstractContextManager[object]:
    """scikit-learn's OpenMP threads thrash on a loaded machine (30x slower measured on 2 shared
    cores); these models are small, so one thread is both faster and predictable."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _choice_groups(space: SearchSpace) -> list[list[int]]:
    """Indices of dimensions that share one tuple of choices (only groups of two or more)."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, d in enumerate(space.dims):
        groups.setdefault(tuple(d.choices), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def structure_features(space: SearchSpace, archs: Sequence[Architecture]) -> np.ndarray:
    """Per-choice counts plus structural extras: the small feature set of the few-shot head."""
    groups = _choice_groups(space)
    rows = []
    for a in archs:
        row: list[float] = []
        for g in groups:
            counts = np.zeros(len(space.dims[g[0]]))
            for i in g:
                counts[a.genes[i]] += 1
            row.extend(counts)
        row.extend(space.predictor_features(a))
        if not _enumerable(space):
            row.extend(_analytic(a))
        rows.append(row)
    return np.asarray(rows, dtype=np.float64).reshape(len(archs), -1)


def _enumerable(space: SearchSpace) -> bool:
    size = space.size()
    return size is not None and size <= 20_000


def _analytic(arch: Architecture) -> list[float]:
    from hynas.hw.analytic import analytic_costs

    c = analytic_costs(arch)
    keys = ("flops", "params", "bytes", "n_ops", "peak_activation_bytes")
    return [float(np.log1p(c.get(k, 0.0))) for k in keys]


def features(space: SearchSpace, archs: Sequence[Architecture]) -> np.ndarray:
    """One-hot encoding + :func:`structure_features` (the regressor's input)."""
    if not archs:
        return np.zeros((0, 0))
    onehot = np.stack([space.encode(a, "onehot") for a in archs]).astype(np.float64)
    return np.hstack([onehot, structure_features(space, archs)])


def _check_data(
    archs: Sequence[Architecture], latencies: Sequence[float] | np.ndarray, need: int, what: str
) -> np.ndarray:
    y = np.asarray(latencies, dtype=np.float64).ravel()
    if len(archs) != len(y):
        raise HynasError(f"{what}: {len(archs)} architectures but {len(y)} latencies")
    if len(y) < need:
        raise HynasError(f"{what} needs at least {need} measured architectures, got {len(y)}")
    if not np.all(np.isfinite(y)) or np.any(y <= 0):
        raise HynasError(f"{what}: latencies must be finite and > 0")
    if len(set(archs)) < need:
        raise HynasError(f"{what} needs at least {need} distinct architectures, got {len(set(archs))}")
    return y


class LatencyPredictor:
    """A regressor from architecture features to latency (fitted on log latency, in the data's unit)."""

    def __init__(self, space: SearchSpace, model: str = "gbm", seed: int = 0) -> None:
        if model not in MODELS:
            raise HynasError(f"unknown latency predictor model {model!r}; valid: {', '.join(MODELS)}")
        self.space, self.model, self.seed = space, model, seed
        self._reg: object | None = None
        self._cache: dict[Architecture, float] = {}  # log predictions, per architecture

    def _make(self) -> object:
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.neural_network import MLPRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.model == "gbm":
            return HistGradientBoostingRegressor(max_iter=300, learning_rate=0.1, random_state=self.seed)
        return make_pipeline(
            StandardScaler(),
            MLPRegressor(
                hidden_layer_sizes=(64, 64), alpha=1.0, solver="lbfgs", max_iter=2000, random_state=self.seed
            ),
        )

    def fit(self, archs: Sequence[Architecture], latencies: Sequence[float] | np.ndarray) -> LatencyPredictor:
        y = _check_data(archs, latencies, MIN_FIT, "a latency predictor")
        reg = self._make()
        with _one_thread():
            reg.fit(features(self.space, archs), np.log(y))  # type: ignore[attr-defined]
        self._reg = reg
        self._cache.clear()
        return self

    def predict_log(self, archs: Sequence[Architecture]) -> np.ndarray:
        if self._reg is None:
            raise HynasError("latency predictor is not fitted: call fit() first")
        todo = list(dict.fromkeys(a for a in archs if a not in self._cache))
        if todo:
            with _one_thread():
                pred = self._reg.predict(features(self.space, todo))  # type: ignore[attr-defined]
            self._cache.update(zip(todo, (float(v) for v in pred), strict=True))
        return np.array([self._cache[a] for a in archs], dtype=np.float64)

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        return np.exp(self.predict_log(archs))


@dataclass
class _Head:
    scaler: object
    ridge: object
    keep: np.ndarray


class FewShotLatencyPredictor:
    """Transfer to a new device from k measured architectures (HELP-style, see the module docstring).

    ``sources`` maps each known device to a fitted :class:`LatencyPredictor` of the same space.
    """

    def __init__(self, space: SearchSpace, sources: Mapping[str, LatencyPredictor]) -> None:
        if not sources:
            raise HynasError("few-shot transfer needs at least one pre-trained source device")
        self.space = space
        self.sources = dict(sources)
        self._head: _Head | None = None
        self.head_kind = ""  # which feature set leave-one-out CV chose
        self.k = 0

    def _design(self, archs: Sequence[Architecture]) -> np.ndarray:
        src = [p.predict_log(archs) for p in self.sources.values()]
        return np.column_stack([*src, structure_features(self.space, archs)])

    def adapt(
        self, archs: Sequence[Architecture], latencies: Sequence[float] | np.ndarray
    ) -> FewShotLatencyPredictor:
        from sklearn.linear_model import RidgeCV
        from sklearn.preprocessing import StandardScaler

        y = _check_data(archs, latencies, MIN_SHOTS, "few-shot latency transfer")
        x = self._design(archs)
        n_src = len(self.sources)
        varied = x.std(axis=0) > 1e-12  # features constant on the k samples carry nothing
        if not varied.any():
            raise HynasError(
                "few-shot transfer: the measured architectures are all alike; measure varied ones"
            )
        best: tuple[float, str, _Head] | None = None
        for kind in HEADS:
            mask = np.zeros(x.shape[1], dtype=bool)
            if kind in ("sources", "both"):
                mask[:n_src] = True
            if kind in ("structure", "both"):
                mask[n_src:] = True
            keep = mask & varied
            if not keep.any():
                continue
            scaler = StandardScaler().fit(x[:, keep])
            ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(scaler.transform(x[:, keep]), np.log(y))
            loo = float(ridge.best_score_)  # leave-one-out score (negative MSE) of the chosen alpha
            if best is None or loo > best[0]:
                best = (loo, kind, _Head(scaler, ridge, keep))
        assert best is not None
        self.head_kind, self._head = best[1], best[2]
        self.k = len(y)
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        if self._head is None:
            raise HynasError(
                "few-shot predictor is not adapted: call adapt() with measured architectures first"
            )
        if not archs:
            return np.zeros(0)
        h = self._head
        x = h.scaler.transform(self._design(archs)[:, h.keep])  # type: ignore[attr-defined]
        return np.exp(np.asarray(h.ridge.predict(x), dtype=np.float64))  # type: ignore[attr-defined]


def hwnasbench_sources(
    exclude: Sequence[str] = (), n_train: int | None = 3000, model: str = "gbm", seed: int = 0
) -> dict[str, LatencyPredictor]:
    """One predictor per HW-NAS-Bench device (NB201, CIFAR-10 input, ms), trained on ``n_train``
    random cells of the table (all 15,625 when ``None``); devices in ``exclude`` are left out."""
    from hynas.benchmarks.nb201 import DEVICES
    from hynas.spaces import get_space

    bad = [d for d in exclude if d not in DEVICES]
    if bad:
        raise HynasError(f"unknown HW-NAS-Bench device {bad[0]!r}; valid: {', '.join(DEVICES)}")
    space = get_space("nb201")  # the space of the HW-NAS-Bench tables
    out = {}
    for dev in DEVICES:
        if dev in exclude:
            continue
        archs, lat = space.latency_samples(dev, n_train, seed)
        out[dev] = LatencyPredictor(space, model, seed).fit(archs, lat)
    return out
