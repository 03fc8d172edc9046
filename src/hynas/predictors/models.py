"""Predictor implementations (see the package docstring for the papers and libraries).

PyTorch and scikit-learn are imported where a model is fitted, not here: the CLI imports this module
(through ``hynas.predictors``) to list predictors, and should start without them."""

from __future__ import annotations

import itertools
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import numpy as np

from hynas.core.errors import HynasError
from hynas.predictors.base import Predictor

if TYPE_CHECKING:
    import torch

__all__ = ["GBDTEnsemble", "GPPredictor", "MLPEnsemble", "RandomForestPredictor"]


def _one_thread() -> AbstractContextManager[None]:
    """Tiny networks train fastest on one thread (and the machine is shared)."""
    from hynas.hw.measure import torch_threads

    return torch_threads(1)


class MLPEnsemble(Predictor):
    """BANANAS's ensemble of small feed-forward networks (trained as one batched model).

    ``members`` networks with ``layers`` hidden ReLU layers of ``width`` units, each from its own
    random initialisation, trained full-batch with Adam on the mean absolute error (as in BANANAS).
    The ensemble mean is the prediction; the ensemble standard deviation is the uncertainty.

    ``warm_epochs`` > 0 makes refits cheap for sequential BO: a refit of an already fitted ensemble
    (same input width) continues from its current weights for ``warm_epochs`` steps instead of
    training from scratch for ``epochs`` steps; a search adds one point per refit, so the previous
    weights are already close.
    """

    name = "mlp-ensemble"

    def __init__(
        self,
        seed: int = 0,
        members: int = 5,
        layers: int = 3,
        width: int = 32,
        epochs: int = 300,
        lr: float = 0.01,
        weight_decay: float = 0.0,
        warm_epochs: int = 0,
    ) -> None:
        super().__init__(seed)
        for key, val, lo in (("members", members, 1), ("layers", layers, 1), ("width", width, 1)):
            if not isinstance(val, int) or val < lo:
                raise HynasError(f"mlp-ensemble option {key} must be a whole number >= {lo}, got {val!r}")
        if not isinstance(epochs, int) or epochs < 1:
            raise HynasError(f"mlp-ensemble option epochs must be a whole number >= 1, got {epochs!r}")
        if not lr > 0:
            raise HynasError(f"mlp-ensemble option lr must be > 0, got {lr!r}")
        if not isinstance(warm_epochs, int) or warm_epochs < 0:
            raise HynasError(
                f"mlp-ensemble option warm_epochs must be a whole number >= 0, got {warm_epochs!r}"
            )
        self.warm_epochs = warm_epochs
        self._params: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.members, self.layers, self.width = members, layers, width
        self.epochs, self.lr, self.weight_decay = epochs, float(lr), float(weight_decay)

    def _init(self, d_in: int, gen: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
        import torch

        sizes = [d_in] + [self.width] * self.layers + [1]
        params = []
        for a, b in itertools.pairwise(sizes):
            bound = 1.0 / np.sqrt(a)  # PyTorch's nn.Linear default (Kaiming-uniform with a = sqrt(5))
            w = (torch.rand(self.members, a, b, generator=gen) * 2 - 1) * bound
            bias = (torch.rand(self.members, 1, b, generator=gen) * 2 - 1) * bound
            params.append((w.requires_grad_(), bias.requires_grad_()))
        return params

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        h = x.unsqueeze(0).expand(self.members, -1, -1)
        for i, (w, b) in enumerate(self._params):
            h = torch.baddbmm(b, h, w)
            if i < len(self._params) - 1:
                h = torch.relu(h)
        return h.squeeze(-1)  # members × n

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        import torch

        with _one_thread():
            warm = self.warm_epochs > 0 and bool(self._params) and self._params[0][0].shape[1] == x.shape[1]
            if not warm:
                gen = torch.Generator().manual_seed(self.seed)
                self._params = self._init(x.shape[1], gen)
            flat = [p for pair in self._params for p in pair]
            opt = torch.optim.Adam(flat, lr=self.lr, weight_decay=self.weight_decay, foreach=True)
            xt = torch.as_tensor(x, dtype=torch.float32)
            yt = torch.as_tensor(y, dtype=torch.float32).unsqueeze(0)
            for _ in range(self.warm_epochs if warm else self.epochs):
                opt.zero_grad()
                loss = (self._forward(xt) - yt).abs().mean()
                loss.backward()
                opt.step()

    def _predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        with _one_thread(), torch.no_grad():
            out = self._forward(torch.as_tensor(x, dtype=torch.float32)).numpy().astype(np.float64)
        return out.mean(axis=0), out.std(axis=0)


class GBDTEnsemble(Predictor):
    """Gradient-boosted trees; ``members`` boosters on bootstrap resamples give the spread."""

    name = "gbdt"

    def __init__(
        self, seed: int = 0, members: int = 5, max_iter: int = 150, learning_rate: float = 0.1
    ) -> None:
        super().__init__(seed)
        if not isinstance(members, int) or members < 1:
            raise HynasError(f"gbdt option members must be a whole number >= 1, got {members!r}")
        self.members, self.max_iter, self.learning_rate = members, int(max_iter), float(learning_rate)

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        rng = np.random.default_rng(self.seed)
        self._models = []
        for m in range(self.members):
            idx = rng.integers(len(y), size=len(y)) if self.members > 1 else np.arange(len(y))
            from sklearn.ensemble import HistGradientBoostingRegressor

            model = HistGradientBoostingRegressor(
                max_iter=self.max_iter,
                learning_rate=self.learning_rate,
                min_samples_leaf=max(2, min(20, len(y) // 10)),
                random_state=self.seed + m,
            )
            model.fit(x[idx], y[idx])
            self._models.append(model)

    def _predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = np.array([m.predict(x) for m in self._models])
        return out.mean(axis=0), out.std(axis=0)


class RandomForestPredictor(Predictor):
    """Random forest; the spread across trees is the uncertainty."""

    name = "random-forest"

    def __init__(self, seed: int = 0, trees: int = 100) -> None:
        super().__init__(seed)
        self.trees = int(trees)

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.ensemble import RandomForestRegressor

        self._model = RandomForestRegressor(n_estimators=self.trees, random_state=self.seed, n_jobs=1)
        self._model.fit(x, y)

    def _predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        per_tree = np.array([t.predict(x) for t in self._model.estimators_])
        return per_tree.mean(axis=0), per_tree.std(axis=0)


class GPPredictor(Predictor):
    """Gaussian process regression (Matern-5/2 + white noise, hyperparameters by marginal likelihood)."""

    name = "gp"

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(
            length_scale=np.sqrt(x.shape[1]), length_scale_bounds=(1e-1, 1e3), nu=2.5
        ) + WhiteKernel(0.1, (1e-5, 1e1))
        self._model = GaussianProcessRegressor(kernel, normalize_y=False, random_state=self.seed)
        self._model.fit(x, y)

    def _predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self._model.predict(x, return_std=True)
        return np.asarray(mean), np.asarray(std)
