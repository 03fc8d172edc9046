"""NSGA-II (Deb, Pratap, Agarwal & Meyarivan, "A Fast and Elitist Multiobjective Genetic
Algorithm: NSGA-II", IEEE TEVC 2002), with Deb's constrained domination.

Generational, driven through ask/tell: the first ``population`` asks are random; then offspring are
bred from the current parents by binary tournament (rank, then crowding distance), uniform
crossover and per-decision mutation, never repeating an architecture. Once ``population``
offspring have been told, parents and offspring are merged and the best ``population`` survive
(non-dominated sorting, crowding distance). With one objective this is an elitist GA.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from hynas.core.arch import Architecture
from hynas.core.pareto import crowding_distance, non_dominated_sort
from hynas.core.strategy import Option, Result, Strategy

__all__ = ["NSGA2"]


class NSGA2(Strategy):
    """Elitist non-dominated sorting GA with constraint domination."""

    name = "nsga2"
    OPTIONS = (
        Option("population", "int", 20, "parents kept per generation", low=2, high=10**6),
        Option("crossover", "float", 0.9, "probability of uniform crossover", low=0, high=1),
        Option("mutation", "float", None, "mutation probability per decision (default 1/decisions)",
               low=0, high=1, none=True),
    )  # fmt: skip

    def __init__(self, population: int = 20, crossover: float = 0.9, mutation: float | None = None) -> None:
        self._check_options(locals())
        self.population_size = population
        self.crossover_prob = crossover
        self.mutation_prob = mutation  # per decision; default 1 / number of decisions

    def reset(self) -> None:
        self.parents: list[Result] = []
        self.offspring: list[Result] = []
        self._rank = np.zeros(0, dtype=int)
        self._crowd = np.zeros(0)

    # -- selection ----------------------------------------------------------------------------
    def _survive(self, pool: list[Result]) -> None:
        pool = [r for r in pool if r.ok]
        if not pool:
            return
        loss = np.array([r.loss for r in pool])
        viol = np.array([r.violation for r in pool])
        rank = non_dominated_sort(loss, viol)
        crowd = np.zeros(len(pool))
        for level in np.unique(rank):
            idx = np.flatnonzero(rank == level)
            crowd[idx] = crowding_distance(loss[idx])
        order = sorted(range(len(pool)), key=lambda i: (rank[i], -crowd[i]))[: self.population_size]
        self.parents = [pool[i] for i in order]
        self._rank = rank[order]
        self._crowd = crowd[order]

    def _tournament(self) -> Architecture:
        i, j = self.rng.integers(len(self.parents), size=2)
        a = (self._rank[i], -self._crowd[i])
        b = (self._rank[j], -self._crowd[j])
        return self.parents[i if a <= b else j].arch

    # -- variation ----------------------------------------------------------------------------
    def _children(self, tries: int = 100) -> Iterator[Architecture]:
        """Up to ``tries`` bred children, each followed by a mutant of it (drawn only when the
        child was asked before)."""
        n = len(self.space.dims)
        pm = self.mutation_prob if self.mutation_prob is not None else 1.0 / n
        for _ in range(tries):
            a, b = self._tournament(), self._tournament()
            genes = (
                self._uniform_crossover(a, b)
                if self.rng.random() < self.crossover_prob
                else np.array(a.genes)
            )
            for k in range(n):
                if self.rng.random() < pm:
                    genes[k] = self.rng.integers(len(self.space.dims[k]))
            arch = self._arch_of(genes)
            if arch is not None:
                yield arch
                yield self.space.mutate(arch, self.rng)

    def propose(self) -> Architecture:
        if self.asked < self.population_size or not self.parents:
            return self._random_fresh()
        child = self._first_fresh(self._children())
        return child if child is not None else self._random_fresh()

    def tell(self, results: Sequence[Result]) -> None:
        super().tell(results)
        for r in results:
            self.offspring.append(r)
            if len(self.offspring) >= self.population_size:
                self._survive(self.parents + self.offspring)
                self.offspring = []
