"""Local search (White, Nolen, Ravichandran & Savani, "Exploring the Loss Landscape in Neural
Architecture Search", UAI 2021).

Evaluate ``init`` random architectures, then walk: evaluate the neighbours (one decision changed)
of the current best in random order. With ``first_improvement`` the walk moves as soon as a
neighbour beats the current point; otherwise after the whole neighbourhood (the paper's variant).
At a local optimum it restarts from a fresh random architecture.
"""

from __future__ import annotations

from collections.abc import Sequence

from hynas.core.arch import Architecture
from hynas.core.strategy import Option, Result, Strategy

__all__ = ["LocalSearch"]


class LocalSearch(Strategy):
    """Hill climbing over one-change neighbourhoods with random restarts."""

    name = "local"
    max_objectives = 1
    OPTIONS = (
        Option("init", "int", 10, "random architectures before the walk", low=1, high=10**6),
        Option("first_improvement", "bool", True, "move at the first better neighbour (else the best)"),
    )

    def __init__(self, init: int = 10, first_improvement: bool = True) -> None:
        self._check_options(locals())
        self.init = init
        self.first_improvement = first_improvement

    def reset(self) -> None:
        self.best: Result | None = None
        self.current: Result | None = None
        self.queue: list[Architecture] = []
        self.restart_point: Architecture | None = None

    def _better(self, a: Result, b: Result | None) -> bool:
        return b is None or self.fitness_key(a) < self.fitness_key(b)

    def _move(self, to: Result) -> None:
        self.current = to
        nbrs = self.space.neighbours(to.arch)
        order = self.rng.permutation(len(nbrs))
        self.queue = [nbrs[i] for i in order[::-1]]  # popped from the end

    def propose(self) -> Architecture:
        if self.asked < self.init or self.best is None:
            return self._random_fresh()
        if self.current is None:
            self._move(self.best)
        while True:
            nxt = self._pop_fresh(self.queue)
            if nxt is not None:
                return nxt
            if not self.first_improvement and self._better(self.best, self.current):
                self._move(self.best)  # best-improvement: step to the best neighbour seen
                continue
            # local optimum: restart from a random architecture
            self.restart_point = self._random_fresh()
            return self.restart_point

    def tell(self, results: Sequence[Result]) -> None:
        super().tell(results)
        for r in results:
            if not r.ok:
                continue
            if self._better(r, self.best):
                self.best = r
            if r.arch == self.restart_point:
                self.restart_point = None
                self._move(r)
            elif self.first_improvement and self.current is not None and self._better(r, self.current):
                self._move(r)
