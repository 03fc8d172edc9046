"""REINFORCE controller (Williams, "Simple statistical gradient-following algorithms for
connectionist reinforcement learning", Machine Learning 1992), as the NAS-Bench-201 baseline
(Dong & Yang, ICLR 2020, section 5: a policy of independent categorical distributions, one per
decision, with an exponential-moving-average reward baseline).

The policy holds one logit vector per dimension of the space. ``ask`` samples an architecture from
it (resampling architectures that were already asked; after ``tries`` repeats a fresh random one is
taken). ``tell`` does one policy-gradient step per result: ``θ += lr · (R − b) · ∇ log π(a)``, with
reward ``R = −loss`` (accuracy for an accuracy objective; infeasible or failed results get the worst
reward seen) and baseline ``b ← m·b + (1 − m)·R``. The update is plain NumPy: the gradient of
``log softmax`` is ``onehot − probabilities``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.strategy import Option, Result, Strategy

__all__ = ["Reinforce"]


class Reinforce(Strategy):
    """Policy-gradient controller over the space's categorical choices (NB201 baseline)."""

    name = "reinforce"
    max_objectives = 1
    OPTIONS = (
        Option("lr", "float", 0.05, "policy-gradient step size", low=0, high=100, low_open=True),
        Option("momentum", "float", 0.9, "decay of the reward baseline", low=0, high=1, high_open=True),
        Option(
            "tries", "int", 100, "samples from the policy before a random architecture", low=1, high=10**6
        ),
    )

    def __init__(self, lr: float = 0.05, momentum: float = 0.9, tries: int = 100) -> None:
        self._check_options(locals())
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.tries = int(tries)

    def reset(self) -> None:
        self.logits = [np.zeros(len(d)) for d in self.space.dims]
        self.baseline: float | None = None
        self.worst: float | None = None
        self.sampled: dict[Architecture, tuple[int, ...]] = {}

    def probabilities(self) -> list[np.ndarray]:
        out = []
        for lg in self.logits:
            e = np.exp(lg - lg.max())
            out.append(e / e.sum())
        return out

    def propose(self) -> Architecture:
        """A fresh architecture from the policy (``tries`` draws), else a random one; the genes
        drawn are kept for the policy-gradient step of its result."""
        probs = self.probabilities()
        drawn: dict[Architecture, tuple[int, ...]] = {}

        def draw() -> Architecture | None:
            genes = tuple(int(self.rng.choice(len(p), p=p)) for p in probs)
            arch = self._arch_of(genes)
            if arch is not None:
                drawn[arch] = genes
            return arch

        arch = self._first_fresh(draw() for _ in range(self.tries))
        if arch is None:
            arch = self._random_fresh()
        self.sampled[arch] = drawn.get(arch, arch.genes)
        return arch

    def tell(self, results: Sequence[Result]) -> None:
        super().tell(results)
        for r in results:
            if r.ok and r.violation == 0:
                reward = -r.loss[0]
                self.worst = reward if self.worst is None else min(self.worst, reward)
            elif self.worst is not None:
                reward = self.worst
            else:
                continue  # nothing to compare with yet
            if self.baseline is None:
                self.baseline = reward
            adv = reward - self.baseline
            genes = self.sampled.pop(r.arch, r.arch.genes)
            for lg, p, g in zip(self.logits, self.probabilities(), genes, strict=True):
                grad = -p
                grad[g] += 1.0
                lg += self.lr * adv * grad
            self.baseline = self.momentum * self.baseline + (1 - self.momentum) * reward
