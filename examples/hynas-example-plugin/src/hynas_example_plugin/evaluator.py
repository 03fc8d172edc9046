"""``toy-mlp-moons``: trains a ``toy-mlp`` network on a seeded two-moons data set.

Deterministic under ``seed``: the data come from ``numpy.random.default_rng(seed)`` and the weights
from ``torch.manual_seed`` of the seed and the architecture, with one CPU thread. Each
evaluation trains for ``steps`` full-batch Adam steps (well under a second on a laptop).
"""

from __future__ import annotations

import time
import zlib

import numpy as np

from hynas import Architecture, Evaluation, Evaluator, HynasError, Metric
from hynas_example_plugin.space import ToyMLPSpace


def two_moons(n: int, rng: np.random.Generator, noise: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of two interleaving half circles with Gaussian noise, and their labels."""
    y = rng.integers(0, 2, n)
    t = rng.uniform(0, np.pi, n)
    x = np.stack([np.cos(t), np.sin(t)], axis=1)
    x[y == 1] = np.stack([1 - np.cos(t[y == 1]), 0.5 - np.sin(t[y == 1])], axis=1)
    x += rng.normal(0, noise, x.shape)
    return x.astype(np.float32), y.astype(np.int64)


class MoonsEvaluator(Evaluator):
    """Trains toy-mlp networks on two moons (example plug-in): accuracy and parameter count."""

    def __init__(self, seed: int = 0, steps: int = 100, lr: float = 0.02) -> None:
        if not (isinstance(steps, int) and steps > 0):
            raise HynasError(f"bad steps {steps!r} for toy-mlp-moons: a whole number > 0")
        self.space = ToyMLPSpace()
        self.seed, self.steps, self.lr = int(seed), steps, float(lr)
        rng = np.random.default_rng(self.seed)
        self.train = two_moons(512, rng)
        self.val = two_moons(256, rng)
        self.test = two_moons(256, rng)

    def metrics(self) -> dict[str, Metric]:
        return {
            "accuracy": Metric("accuracy", "max", "%", "two-moons validation accuracy"),
            "params": Metric("params", "min", "", "trainable parameters"),
            "test_accuracy": Metric("test_accuracy", "max", "%", "two-moons test accuracy", hidden=True),
        }

    def evaluate(self, arch: Architecture, fidelity: float | None = None) -> Evaluation:
        import torch

        t0 = time.perf_counter()
        self.space.validate(arch)
        torch.set_num_threads(1)
        torch.manual_seed(self.seed * 1_000_003 + zlib.crc32(str(arch.genes).encode()))
        model = self.space.build(arch)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        x, y = (torch.from_numpy(a) for a in self.train)
        for _ in range(self.steps):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

        def accuracy(data: tuple[np.ndarray, np.ndarray]) -> float:
            with torch.no_grad():
                pred = model(torch.from_numpy(data[0])).argmax(1).numpy()
            return float(100.0 * (pred == data[1]).mean())

        params = float(sum(p.numel() for p in model.parameters()))
        visible = {"accuracy": accuracy(self.val), "params": params}
        return Evaluation(visible, {"test_accuracy": accuracy(self.test)}, time.perf_counter() - t0)
