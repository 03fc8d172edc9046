"""Regularized (aging) evolution (Real et al., "Regularized Evolution for Image Classifier
Architecture Search", AAAI 2019).

Start with ``population`` random architectures. Then repeatedly: draw ``sample_size`` members at
random, mutate the best (one decision changes), add the child and drop the *oldest* member.
Several children can be pending at once; each is bred from the members told so far.

``warm_start`` (a zero-cost metric such as ``zc@naswot``): the first population is the
``population`` best of ``warm_pool`` random architectures by that metric instead of random ones
(the "warmup" of Abdelfattah et al., ICLR 2021; see :meth:`Strategy._setup_warm_start`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from hynas.core.arch import Architecture
from hynas.core.strategy import WARM_START_OPTIONS, Option, Result, Strategy

__all__ = ["RegularizedEvolution"]


class RegularizedEvolution(Strategy):
    """Aging evolution: tournament of sample_size, mutate the winner, drop the oldest."""

    name = "rea"
    max_objectives = 1
    OPTIONS = (
        Option("population", "int", 20, "members kept (the oldest is dropped)", low=1, high=10**6),
        Option("sample_size", "int", 5, "members drawn per tournament", low=1, high=10**6),
        *WARM_START_OPTIONS,
    )

    def __init__(
        self, population: int = 20, sample_size: int = 5, warm_start: str | None = None, warm_pool: int = 1000
    ) -> None:
        self._check_options(locals())
        self.population_size = population
        self.sample_size = sample_size
        self.warm_start = warm_start
        self.warm_pool = warm_pool

    def reset(self) -> None:
        self.population: deque[Result] = deque()
        self._setup_warm_start(self.warm_start, self.warm_pool, self.population_size)

    def propose(self) -> Architecture:
        warm = self._pop_fresh(self._warm_stack())
        if warm is not None:
            return warm
        if self.asked < self.population_size or not self.population:
            return self._random_fresh()
        idx = self.rng.choice(
            len(self.population), size=min(self.sample_size, len(self.population)), replace=False
        )
        parent = min((self.population[i] for i in idx), key=self.fitness_key)
        return self._mutate_fresh(parent.arch)

    def _mutate_fresh(self, arch: Architecture) -> Architecture:
        child = self._first_fresh(self.space.mutate(arch, self.rng) for _ in range(50))
        return child if child is not None else self._random_fresh()

    def tell(self, results: Sequence[Result]) -> None:
        super().tell(results)
        for r in results:
            if r.ok:
                self.population.append(r)
                if len(self.population) > self.population_size:
                    self.population.popleft()
